"""Effective-view scenarios (conda-facts §1-2) shared by the unit tests and the real-conda check.

Placeholders: {home} the HOME, {root} the running conda's root prefix, {site} a directory used as
``$CONDA_ROOT`` (the root's own .condarc), {etc} a stand-in for /etc/conda, {cwd} the working
directory, {share} a shared installation prefix. ``files`` maps a path to its text; ``env`` adds
variables; ``expect_envs``/``expect_pkgs`` are conda's exact answers.
"""

from __future__ import annotations

SCENARIOS: list[dict] = [
    {
        "id": "no-config-root-read-only",
        "files": {},
        "env": {},
        "root_writable": False,
        "expect_envs": ["{home}/.conda/envs", "{root}/envs"],
        "expect_pkgs": ["{root}/pkgs", "{home}/.conda/pkgs"],
    },
    {
        "id": "no-config-root-writable",
        "files": {},
        "env": {},
        "root_writable": True,
        "expect_envs": ["{root}/envs", "{home}/.conda/envs"],
        "expect_pkgs": ["{root}/pkgs", "{home}/.conda/pkgs"],
    },
    {
        "id": "several-files-highest-first-dedup",
        "files": {
            "{site}/.condarc": "envs_dirs:\n  - /site/envs\n  - /both\n",
            "{home}/.config/conda/condarc": "envs_dirs:\n  - /xdgdefault\n",
            "{home}/.conda/condarc.d/b.yaml": "envs_dirs: [/d-b]\n",
            "{home}/.conda/condarc.d/a.yml": "envs_dirs: [/d-a, /both]\n",
            "{home}/.conda/condarc.d/ignored.txt": "envs_dirs: [/never]\n",
            "{home}/.condarc": "envs_dirs:\n  - /user/envs  # mine\n  - /both\n",
        },
        "env": {},
        "root_writable": False,
        "expect_envs": [
            "/user/envs",
            "/both",
            "/d-b",
            "/d-a",
            "/xdgdefault",
            "/site/envs",
            "{home}/.conda/envs",
            "{root}/envs",
        ],
        "expect_pkgs": ["{root}/pkgs", "{home}/.conda/pkgs"],
    },
    {
        "id": "env-vars-split-colon-and-comma",
        "files": {"{home}/.condarc": "envs_dirs: [/file/envs]\npkgs_dirs: [/file/pkgs]\n"},
        "env": {
            "CONDA_ENVS_DIRS": "/e1:/e2: :/file/envs",
            "CONDA_PKGS_DIRS": "/p1,/p2:/p3, /file/pkgs",
        },
        "root_writable": False,
        "expect_envs": ["/e1", "/e2", "/file/envs", "{home}/.conda/envs", "{root}/envs"],
        "expect_pkgs": ["/p1", "/p2:/p3", "/file/pkgs"],
    },
    {
        "id": "envs-path-alias",
        "files": {},
        "env": {"CONDA_ENVS_PATH": "/via/envs_path"},
        "root_writable": False,
        "expect_envs": ["/via/envs_path", "{home}/.conda/envs", "{root}/envs"],
        "expect_pkgs": ["{root}/pkgs", "{home}/.conda/pkgs"],
    },
    {
        "id": "site-final-locks-out-user-and-env",
        "files": {
            "{site}/.condarc": "envs_dirs:  #!final\n  - /site/only\n",
            "{home}/.condarc": "envs_dirs:\n  - /user/envs\n",
        },
        "env": {"CONDA_ENVS_DIRS": "/from/env"},
        "root_writable": False,
        "expect_envs": ["/site/only", "{home}/.conda/envs", "{root}/envs"],
        "expect_pkgs": ["{root}/pkgs", "{home}/.conda/pkgs"],
    },
    {
        "id": "final-in-user-file-keeps-lower-files",
        "files": {
            "{site}/.condarc": "envs_dirs: [/site/envs]\n",
            "{home}/.condarc": "envs_dirs: #!final\n  - /user/envs\n",
        },
        "env": {"CONDA_ENVS_DIRS": "/from/env"},
        "root_writable": False,
        "expect_envs": ["/user/envs", "/site/envs", "{home}/.conda/envs", "{root}/envs"],
        "expect_pkgs": ["{root}/pkgs", "{home}/.conda/pkgs"],
    },
    {
        "id": "top-and-bottom-tags",
        "files": {
            "{site}/.condarc": (
                "envs_dirs:\n  - /site/a  #!top\n  - /site/b\n  - /site/c  #!bottom\n"
            ),
            "{home}/.condarc": "envs_dirs:\n  - /user/a\n  - /user/b  #!bottom\n  - /user/c\n",
        },
        "env": {},
        "root_writable": False,
        "expect_envs": [
            "/site/a",
            "/user/a",
            "/user/c",
            "/site/b",
            "/user/b",
            "/site/c",
            "{home}/.conda/envs",
            "{root}/envs",
        ],
        "expect_pkgs": ["{root}/pkgs", "{home}/.conda/pkgs"],
    },
    {
        "id": "var-expansion-and-unset-var-relative",
        "files": {
            "{home}/.condarc": "envs_dirs:\n  - $HOME/my-envs\n  - ${PROJ}/envs\n"
            "  - $CONDASHARE_NOT_SET/envs\n  - ~/tilde-envs\n"
            "pkgs_dirs:\n  - ${CONDASHARE_NOT_SET}/pkgs\n  - rel/pkgs\n",
        },
        "env": {"PROJ": "/projects/x"},
        "root_writable": False,
        "expect_envs": [
            "{home}/my-envs",
            "/projects/x/envs",
            "{cwd}/$CONDASHARE_NOT_SET/envs",
            "{home}/tilde-envs",
            "{home}/.conda/envs",
            "{root}/envs",
        ],
        "expect_pkgs": ["{cwd}/${CONDASHARE_NOT_SET}/pkgs", "{cwd}/rel/pkgs"],
    },
    {
        "id": "dedup-after-expansion",
        "files": {
            "{home}/.condarc": "envs_dirs:\n  - ~/.conda/envs\n  - $HOME/.conda/envs\n"
            "  - /x/../x/envs\n  - /x/envs\n"
        },
        "env": {},
        "root_writable": True,
        "expect_envs": ["{home}/.conda/envs", "/x/envs", "{root}/envs"],
        "expect_pkgs": ["{root}/pkgs", "{home}/.conda/pkgs"],
    },
    {
        "id": "condarc-var-name-rule",
        "files": {
            "{cwd}/myconf": "envs_dirs: [/ignored]\n",
            "{cwd}/good.yml": "envs_dirs: [/from/condarc-var]\n",
        },
        "env": {"CONDARC": "{cwd}/myconf"},
        "root_writable": False,
        "expect_envs": ["{home}/.conda/envs", "{root}/envs"],
        "expect_pkgs": ["{root}/pkgs", "{home}/.conda/pkgs"],
    },
    {
        "id": "condarc-var-yml-highest",
        "files": {
            "{cwd}/good.yml": "envs_dirs: [/from/condarc-var]\n",
            "{home}/.condarc": "envs_dirs: [/user]\n",
        },
        "env": {"CONDARC": "{cwd}/good.yml"},
        "root_writable": False,
        "expect_envs": ["/from/condarc-var", "/user", "{home}/.conda/envs", "{root}/envs"],
        "expect_pkgs": ["{root}/pkgs", "{home}/.conda/pkgs"],
    },
    {
        "id": "xdg-config-home-and-null-value",
        "files": {
            "{cwd}/xdg/conda/condarc": "envs_dirs: [/xdg]\n",
            "{home}/.condarc": "envs_dirs:\npkgs_dirs: [/p]\n",
        },
        "env": {"XDG_CONFIG_HOME": "{cwd}/xdg"},
        "root_writable": False,
        "expect_envs": ["/xdg", "{home}/.conda/envs", "{root}/envs"],
        "expect_pkgs": ["/p"],
    },
    {
        "id": "shared-install-envs-in-user-file",
        "files": {
            "{home}/.condarc": "envs_dirs:\n  - {share}/envs\npkgs_dirs:\n"
            "  - ~/.conda/pkgs\n  - {share}/pkgs\n"
        },
        "env": {},
        "root_writable": False,
        "expect_envs": ["{share}/envs", "{home}/.conda/envs", "{root}/envs"],
        "expect_pkgs": ["{home}/.conda/pkgs", "{share}/pkgs"],
    },
    {
        "id": "env-var-important-is-cut-off-each-item",
        "files": {"{home}/.condarc": "envs_dirs: [/f]\n"},
        "env": {"CONDA_ENVS_DIRS": "/e1:/e2!important"},
        "root_writable": False,
        "expect_envs": ["/e1", "/e2", "/f", "{home}/.conda/envs", "{root}/envs"],
        "expect_pkgs": ["{root}/pkgs", "{home}/.conda/pkgs"],
    },
    {
        "id": "comment-line-between-items-tags-the-previous-item",
        "files": {
            "{home}/.condarc": "envs_dirs:\n  - /a\n  - /b\n  #!top\n  - /c\n",
            "{site}/.condarc": "envs_dirs: [/s]\n",
        },
        "env": {},
        "root_writable": False,
        "expect_envs": ["/b", "/a", "/c", "/s", "{home}/.conda/envs", "{root}/envs"],
        "expect_pkgs": ["{root}/pkgs", "{home}/.conda/pkgs"],
    },
]
