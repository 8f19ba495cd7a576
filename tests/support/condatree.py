"""Build a real conda installation tree for the verification tests (run as a subprocess).

``python condatree.py OUT`` builds three packages with py-rattler-build (one with a
prefix-placeholder file, one with a symlink, one with a file big enough to be hashed as its own
task), indexes a ``file://`` channel, and installs with py-rattler into

    OUT/inst/               an installation root: base env (alpha) + pkgs/ + envs/
    OUT/inst/envs/good      alpha, beta, gamma
    OUT/inst/pkgs           the package cache rattler extracted

rattler's cache is not conda-shaped (no urls.txt, no archives, no info/repodata_record.json),
so this script then writes those conda markers itself, following conda-facts §6: urls.txt lists
the archive URLs, each extracted package gets info/repodata_record.json (index.json + channel,
url, fn, md5, sha256, size from the channel's repodata) and the archive is copied next to it.

Run in a subprocess because py-rattler 0.28 sometimes crashes the interpreter at exit.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path

import rattler
import rattler_build

BIG = 17 * 1024 * 1024  # above the engine's 16 MiB "hash as its own task" threshold


def build(
    name: str,
    version: str,
    script: list[str],
    work: Path,
    channel: Path,
    deps: tuple[str, ...] = (),
) -> None:
    recipe = {
        "package": {"name": name, "version": version},
        "build": {"number": 0, "script": script},
        "requirements": {"run": list(deps)},
    }
    recipe_dir = work / "recipes" / name
    recipe_dir.mkdir(parents=True)
    stage0 = rattler_build.Stage0Recipe.from_dict(recipe, recipe_dir=recipe_dir)
    for variant in stage0.render(rattler_build.VariantConfig()):
        variant.run_build(
            output_dir=str(work / "out"), package_format="conda", no_include_recipe=True
        )
    for archive in (work / "out").glob("*/*.conda"):
        dest = channel / archive.parent.name
        dest.mkdir(parents=True, exist_ok=True)
        shutil.move(str(archive), dest / archive.name)


def conda_shape(pkgs: Path, channel: Path) -> None:
    records = {}
    for sub in ("linux-64", "noarch"):
        repodata = json.loads((channel / sub / "repodata.json").read_text())
        for fn, rec in {
            **repodata.get("packages", {}),
            **repodata.get("packages.conda", {}),
        }.items():
            records[fn] = (sub, rec)
    urls = []
    for fn, (sub, rec) in sorted(records.items()):
        dist = fn[: -len(".conda")]
        extracted = pkgs / dist
        if not extracted.is_dir():
            continue
        url = f"{channel.as_uri()}/{sub}/{fn}"
        full = dict(json.loads((extracted / "info" / "index.json").read_text()))
        full.update(
            channel=channel.as_uri(),
            url=url,
            fn=fn,
            md5=rec["md5"],
            sha256=rec["sha256"],
            size=rec["size"],
        )
        (extracted / "info" / "repodata_record.json").write_text(json.dumps(full, indent=2))
        shutil.copy2(channel / sub / fn, pkgs / fn)
        urls.append(url)
    (pkgs / "urls.txt").write_text("".join(u + "\n" for u in urls))
    (pkgs / "urls").write_text("")
    for lock in pkgs.glob("*.lock"):
        lock.unlink()
    (pkgs / ".cache.lock").unlink(missing_ok=True)


async def install(channel: Path, specs: list[str], prefix: Path, pkgs: Path, gw: Path) -> None:
    records = await rattler.solve(
        [rattler.Channel(channel.as_uri())],
        specs,
        gateway=rattler.Gateway(cache_dir=gw),
        platforms=["linux-64", "noarch"],
        virtual_packages=[],
    )
    await rattler.install(records, target_prefix=prefix, cache_dir=pkgs)


async def main(out: Path) -> None:
    work = out / "work"
    channel = out / "channel"
    (channel / "noarch").mkdir(parents=True)
    (channel / "linux-64").mkdir(parents=True)
    build(
        "alpha",
        "1.0",
        [
            "mkdir -p $PREFIX/lib $PREFIX/bin $PREFIX/share/alpha",
            "echo hello alpha > $PREFIX/lib/alpha.txt",
            "printf '#!/bin/sh\\nprefix=%s\\nexec true\\n' \"$PREFIX\" > $PREFIX/bin/alpha-config",
            "chmod +x $PREFIX/bin/alpha-config",
            "ln -s alpha.txt $PREFIX/lib/alpha-link.txt",
            "head -c 300000 /dev/urandom > $PREFIX/share/alpha/data.bin",
        ],
        work,
        channel,
    )
    build(
        "beta",
        "2.1",
        [
            "mkdir -p $PREFIX/share/beta $PREFIX/lib",
            "for i in $(seq 0 29); do echo beta file $i > $PREFIX/share/beta/f$i.txt; done",
            "head -c 65536 /dev/urandom > $PREFIX/lib/libbeta.so",
        ],
        work,
        channel,
        deps=("alpha",),
    )
    build(
        "gamma",
        "0.3",
        [
            "mkdir -p $PREFIX/share/gamma",
            f"head -c {BIG} /dev/urandom > $PREFIX/share/gamma/big.bin",
            "echo small > $PREFIX/share/gamma/small.txt",
        ],
        work,
        channel,
    )
    await rattler.index.index_fs(channel, write_zst=False, write_shards=False)
    inst = out / "inst"
    pkgs = inst / "pkgs"
    gw = work / "gateway"
    await install(channel, ["alpha"], inst, pkgs, gw)
    await install(channel, ["alpha", "beta", "gamma"], inst / "envs" / "good", pkgs, gw)
    conda_shape(pkgs, channel)
    shutil.rmtree(work)


if __name__ == "__main__":
    target = Path(sys.argv[1]).resolve()
    asyncio.run(main(target))
    print("ok")
