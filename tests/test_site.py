"""Site file: validation errors name file and key; discovery order and precedence."""

from __future__ import annotations

import pytest

from condashare.site.file import (
    DEFAULT_PROBE_TIMEOUT,
    AdminSettings,
    SiteError,
    candidate_paths,
    discover_site,
    parse_site,
    site_from_prefix,
)

GOOD = """
[site]
name = "Example Science Center"
probe_timeout = 1.5

[[installations]]
name = "linux"
prefix = "/nfs/cpkgs/anaconda3_linux"
os = "linux"
arch = ["x86_64"]

[[installations]]
name = "macos"
prefix = "/nfs/cpkgs/anaconda3_macOS/"
os = "macos"
"""


def test_example_site_file_parses():
    site = parse_site(GOOD, "/etc/condashare/site.toml")
    assert site.name == "Example Science Center"
    assert site.probe_timeout == 1.5
    linux, macos = site.installations
    assert (linux.name, linux.os, linux.arch) == ("linux", "linux", ("x86_64",))
    assert macos.prefix == "/nfs/cpkgs/anaconda3_macOS"  # trailing slash dropped
    assert macos.arch == ()  # any architecture
    assert macos.envs_dir == "/nfs/cpkgs/anaconda3_macOS/envs"


def test_defaults_and_aliases():
    site = parse_site(
        '[[installations]]\nname="m"\nprefix="/opt/c"\nos="Darwin"\narch="aarch64"\n', "f"
    )
    assert site.probe_timeout == DEFAULT_PROBE_TIMEOUT
    assert site.installations[0].os == "macos"
    assert site.installations[0].arch == ("arm64",)


def inst(**fields: object) -> str:
    body = "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in fields.items())
    return f"[[installations]]\n{body}\n"


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        (inst(name="a", os="linux"), "installations[0].prefix", "missing"),
        (inst(name="a", prefix="nfs/c", os="linux"), "installations[0].prefix", "absolute"),
        (inst(name="a", prefix="/c", os="windows"), "installations[0].os", "unknown OS"),
        (inst(name="a", prefix="/c"), "installations[0].os", "missing"),
        (inst(name="a", prefix="/c", os="linux") * 2, "installations[1].name", "duplicate"),
        (inst(name="a", prefx="/c", os="linux"), "installations[0].prefx", "unknown key"),
        (
            inst(name="a", prefix="/c", os="linux", arch=["sparc"]),
            "installations[0].arch",
            "unknown architecture",
        ),
        (
            '[site]\nnmae = "x"\n' + inst(name="a", prefix="/c", os="linux"),
            "site.nmae",
            "unknown key",
        ),
        (
            "[site]\nprobe_timeout = 0\n" + inst(name="a", prefix="/c", os="linux"),
            "site.probe_timeout",
            "> 0",
        ),
        (
            '[site]\nprobe_timeout = "2"\n' + inst(name="a", prefix="/c", os="linux"),
            "site.probe_timeout",
            "number",
        ),
        ("[site]\nname = 'x'\n", "installations", "at least one"),
        ("colour = 1\n" + inst(name="a", prefix="/c", os="linux"), "colour", "unknown key"),
        (inst(prefix="/c", os="linux"), "installations[0].name", "missing"),
    ],
)
def test_validation_errors_name_file_and_key(text, key, message):
    with pytest.raises(SiteError) as err:
        parse_site(text, "/etc/condashare/site.toml")
    assert err.value.key == key
    assert message in err.value.message
    assert str(err.value).startswith(f"/etc/condashare/site.toml: {key}: ")


@pytest.mark.parametrize(("bad", "why"), [("/nfs/a\\nb", "line break"), ("/nfs/a\\u0000b", "NUL")])
def test_prefix_that_shell_code_cannot_carry_is_refused(bad, why):
    with pytest.raises(SiteError, match=why):
        parse_site(f'[[installations]]\nname="a"\nprefix="{bad}"\nos="linux"\n', "f")


def test_hostile_but_expressible_prefix_is_accepted():
    hostile = "/nfs/'\";&&e-$ `x` !h èрт🚒♞中片-j"
    toml = f"[[installations]]\nname='a'\nprefix='''{hostile}'''\nos='linux'\n"
    assert parse_site(toml, "f").installations[0].prefix == hostile


def test_invalid_toml_names_the_file():
    with pytest.raises(SiteError, match="not valid TOML") as err:
        parse_site("[[installations]\n", "/srv/site.toml")
    assert err.value.path == "/srv/site.toml"


def write(path, text=GOOD):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_discovery_order(tmp_path):
    user_dir, sys_dir = tmp_path / "user", tmp_path / "sys"
    env_file = write(tmp_path / "env.toml")
    cli_file = write(tmp_path / "cli.toml")
    write(user_dir / "site.toml")
    write(sys_dir / "site.toml")
    kw = {"user_config_dir": str(user_dir), "site_config_dirs": [str(sys_dir)]}
    env = {"CONDASHARE_SITE": str(env_file)}
    assert discover_site(str(cli_file), env, **kw)[0].found_by == "--site"
    assert discover_site(None, env, **kw)[0].path == str(env_file)
    site, _ = discover_site(None, {}, **kw)
    assert (site.path, site.found_by) == (str(user_dir / "site.toml"), "user config")
    (user_dir / "site.toml").unlink()
    site, _ = discover_site(None, {}, **kw)
    assert (site.path, site.found_by) == (str(sys_dir / "site.toml"), "site config")
    (sys_dir / "site.toml").unlink()
    site, looked = discover_site(None, {}, **kw)
    assert site is None
    assert [c.path for c in looked][-1] == "/etc/condashare/site.toml"


def test_explicit_site_file_must_exist(tmp_path):
    with pytest.raises(SiteError, match="does not exist"):
        discover_site(str(tmp_path / "nope.toml"), {}, str(tmp_path), [])
    with pytest.raises(SiteError, match="CONDASHARE_SITE"):
        discover_site(None, {"CONDASHARE_SITE": str(tmp_path / "x.toml")}, str(tmp_path), [])


def test_default_candidates_use_platformdirs(sandbox_home):
    paths = [c.path for c in candidate_paths(env={})]
    assert paths[0] == str(sandbox_home / ".config" / "condashare" / "site.toml")
    assert "/etc/condashare/site.toml" in paths


def test_prefix_bypass():
    site = site_from_prefix("/opt/conda/", "linux")
    assert site.installations[0].prefix == "/opt/conda"
    assert site.found_by == "--prefix"
    with pytest.raises(SiteError, match="absolute"):
        site_from_prefix("conda", "linux")


def test_admin_table():
    base = inst(name="a", prefix="/c", os="linux")
    assert parse_site(base, "f").admin == AdminSettings()  # optional, default: nothing allowed
    text = (
        '[admin]\ngroup = "condaadm"\nowners = ["build", 1234]\ngroup_writable = true\n'
        'writable = ["pkgs/cache/", "envs//scratch"]\n' + base
    )
    admin = parse_site(text, "f").admin
    assert admin == AdminSettings("condaadm", ("build", 1234), True, ("pkgs/cache", "envs/scratch"))


@pytest.mark.parametrize(
    ("table", "key", "message"),
    [
        ("grup = 'x'", "admin.grup", "unknown key"),
        ("group = true", "admin.group", "account name"),
        ("group = 'two words'", "admin.group", "not an account name"),
        ("owners = 'root'", "admin.owners", "list"),
        ("owners = [-1]", "admin.owners[0]", "negative"),
        ("group_writable = 'yes'", "admin.group_writable", "true or false"),
        ("writable = ['/abs']", "admin.writable[0]", "relative"),
        ("writable = ['envs/../bin']", "admin.writable[0]", "relative"),
        ("writable = ['']", "admin.writable[0]", "non-empty"),
    ],
)
def test_admin_table_errors_name_the_key(table, key, message):
    with pytest.raises(SiteError) as err:
        parse_site(f"[admin]\n{table}\n" + inst(name="a", prefix="/c", os="linux"), "f")
    assert err.value.key == key and message in err.value.message
