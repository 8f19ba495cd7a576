"""Build a real conda-format environment offline with py-rattler-build + py-rattler.

Run as a script (``python rattler_env.py WORKDIR``) so rattler's occasional crash at interpreter
exit (test-recipes §1) cannot turn a test run red; prints the prefix and cache paths as JSON.

Two packages: ``plugdemo`` (linux-64: a data file, a script with the build prefix baked in, so it
gets a prefix placeholder and is rewritten at install time) and ``plugdata`` (noarch, two files).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

RECIPES = [
    {
        "package": {"name": "plugdemo", "version": "1.0"},
        "build": {
            "number": 0,
            "script": [
                "mkdir -p $PREFIX/share/plugdemo $PREFIX/bin",
                "echo 'payload of plugdemo, long enough to be truncated' > "
                "$PREFIX/share/plugdemo/data.txt",
                "printf '#!/bin/sh\\necho %s\\n' \"$PREFIX\" > $PREFIX/bin/plugdemo",
                "chmod +x $PREFIX/bin/plugdemo",
            ],
        },
    },
    {
        "package": {"name": "plugdata", "version": "2.1"},
        "build": {
            "number": 3,
            "noarch": "generic",
            "script": [
                "mkdir -p $PREFIX/share/plugdata",
                "echo alpha > $PREFIX/share/plugdata/a.txt",
                "echo beta-beta > $PREFIX/share/plugdata/b.txt",
            ],
        },
    },
]


async def build(work: Path) -> dict[str, str]:
    import rattler
    import rattler_build

    channel = work / "channel"
    (channel / "noarch").mkdir(parents=True, exist_ok=True)
    for recipe in RECIPES:
        recipe_dir = work / "recipes" / str(recipe["package"]["name"])  # type: ignore[index]
        recipe_dir.mkdir(parents=True, exist_ok=True)
        rendered = rattler_build.Stage0Recipe.from_dict(recipe, recipe_dir=recipe_dir).render(
            rattler_build.VariantConfig()
        )
        for variant in rendered:
            variant.run_build(
                output_dir=str(channel), package_format="conda", no_include_recipe=True
            )
    await rattler.index.index_fs(channel, write_zst=False, write_shards=False)
    records = await rattler.solve(
        [rattler.Channel(channel.as_uri())],
        ["plugdemo", "plugdata"],
        gateway=rattler.Gateway(cache_dir=str(work / "gateway")),
        platforms=["linux-64", "noarch"],
        virtual_packages=[],
    )
    prefix, pkgs = work / "env", work / "pkgs"
    await rattler.install(records, target_prefix=str(prefix), cache_dir=str(pkgs))
    (prefix / "conda-meta" / "history").touch()  # conda's marker of an environment it manages
    return {"prefix": str(prefix), "pkgs": str(pkgs), "channel": str(channel)}


def main() -> int:
    work = Path(sys.argv[1])
    work.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(build(work))
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
