"""Stand-ins for an installed conda's shell startup files, in the shape conda writes them.

An installed conda's ``etc/profile.d/conda.sh`` is a preamble of exported variables
(``CONDA_EXE``, ``_CE_M``, ``_CE_CONDA``, ``CONDA_PYTHON_EXE``) followed by shell functions
(``__conda_exe``, ``__conda_activate``, ``conda``) and a first-load section that sets
``CONDA_SHLVL`` and puts ``condabin`` on ``PATH`` (it runs ``dirname`` twice). ``conda.fish`` is
the same in fish. ``conda.csh`` is only a preamble and one ``source "<site-packages>/conda/
shell/etc/profile.d/conda.csh"`` line, because csh cannot take multi-line code from a command
substitution; that inner file defines the ``conda`` alias (conda/core/initialize.py and
conda/activate.py, ``install_conda_sh``/``install_conda_csh``/``install_conda_fish`` and
``_hook_preamble``, conda commit 0f64223fb). None of them uses its own path.

The code below is written for these tests (not copied): it has the same shape and effects, and
``bin/conda`` prints ``conda-from-<label>`` plus its arguments, so a test sees which
installation's ``conda`` ran. Values are quoted for each dialect, so hostile prefixes work.
"""

from __future__ import annotations

from pathlib import Path

INNER_CSH = "lib/python3.12/site-packages/conda/shell/etc/profile.d/conda.csh"


def sh_quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def csh_quote(value: str) -> str:
    """conda's own double quotes where they are safe, else single quotes (``!`` escaped)."""
    if not any(ch in value for ch in "\"$`!\\'"):
        return '"' + value + '"'
    return "'" + value.replace("'", "'\\''").replace("!", "\\!") + "'"


def fish_quote(value: str) -> str:
    if not any(ch in value for ch in "\"$\\'"):
        return '"' + value + '"'
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def conda_sh(prefix: str) -> str:
    exe = f"{prefix}/bin/conda"
    return (
        f"export CONDA_EXE={sh_quote(exe)}\n"
        "export _CE_M=''\n"
        "export _CE_CONDA=''\n"
        f"export CONDA_PYTHON_EXE={sh_quote(prefix + '/bin/python')}\n"
        "\n"
        "# condashare test stand-in for conda's profile.d/conda.sh\n"
        "__conda_exe() (\n"
        '    if [ -n "${_CE_M:+x}" ]; then "$CONDA_EXE" $_CE_M $_CE_CONDA "$@"\n'
        '    else "$CONDA_EXE" "$@"; fi\n'
        ")\n"
        "\n"
        "__conda_hashr() {\n"
        '    if [ -n "${ZSH_VERSION:+x}" ]; then \\rehash; else \\hash -r; fi\n'
        "}\n"
        "\n"
        "__conda_activate() {\n"
        "    \\local ask_conda\n"
        '    ask_conda="$(PS1="${PS1:-}" __conda_exe shell.posix "$@")" || \\return\n'
        '    \\eval "$ask_conda"\n'
        "    __conda_hashr\n"
        "}\n"
        "\n"
        "conda() {\n"
        '    \\local cmd="${1-__missing__}"\n'
        '    case "$cmd" in\n'
        '        activate|deactivate) __conda_activate "$@" ;;\n'
        '        *) __conda_exe "$@" ;;\n'
        "    esac\n"
        "}\n"
        "\n"
        'if [ -z "${CONDA_SHLVL+x}" ]; then\n'
        "    \\export CONDA_SHLVL=0\n"
        '    PATH="$(\\dirname "$(\\dirname "$CONDA_EXE")")/condabin${PATH:+":${PATH}"}"\n'
        "    \\export PATH\n"
        '    if [ -z "${PS1+x}" ]; then PS1=; fi\n'
        "fi\n"
    )


def conda_csh_outer(prefix: str) -> str:
    """The installed conda.csh: preamble lines ending in ``;`` and the source line, no final
    line break (conda joins the parts with line breaks)."""
    exe = f"{prefix}/bin/conda"
    return (
        f"setenv CONDA_EXE {csh_quote(exe)};\n"
        f"setenv _CONDA_EXE {csh_quote(exe)};\n"
        "unsetenv _CE_M;\n"
        "unsetenv _CE_CONDA;\n"
        f"setenv CONDA_PYTHON_EXE {csh_quote(prefix + '/bin/python')};\n"
        f"setenv _CONDA_ROOT {csh_quote(prefix)};\n"
        "\n"
        f"source {csh_quote(prefix + '/' + INNER_CSH)}"
    )


def conda_csh_inner() -> str:
    return (
        "# condashare test stand-in for conda's shell/etc/profile.d/conda.csh\n"
        'if ( "`alias conda`" == "" ) then\n'
        "    alias conda 'source \"$_CONDA_ROOT/etc/profile.d/conda.csh\"'\n"
        "    setenv CONDA_SHLVL 0\n"
        "    if ( ! $?prompt ) then\n"
        '        set prompt=""\n'
        "    endif\n"
        "else\n"
        "    if ( $#argv == 0 ) then\n"
        '        "$_CONDA_EXE"\n'
        "    else\n"
        '        switch ( "$argv[1]" )\n'
        '            case "activate":\n'
        '            case "deactivate":\n'
        "                set ask_conda=\"`'$_CONDA_EXE' shell.csh $argv[1-]`\"\n"
        '                eval "$ask_conda"\n'
        "                rehash\n"
        "                breaksw\n"
        "            default:\n"
        '                "$_CONDA_EXE" $argv[1-]\n'
        "                breaksw\n"
        "        endsw\n"
        "    endif\n"
        "endif\n"
    )


def conda_fish(prefix: str) -> str:
    exe = f"{prefix}/bin/conda"
    return (
        f"set -gx CONDA_EXE {fish_quote(exe)}\n"
        "set -e _CE_M || true\n"
        "set -e _CE_CONDA || true\n"
        f"set -gx CONDA_PYTHON_EXE {fish_quote(prefix + '/bin/python')}\n"
        "\n"
        "# condashare test stand-in for conda's fish/conf.d/conda.fish\n"
        "if not set -q CONDA_SHLVL\n"
        "    set -gx CONDA_SHLVL 0\n"
        "    set -g _CONDA_ROOT (dirname (dirname $CONDA_EXE))\n"
        "    set -gx PATH $_CONDA_ROOT/condabin $PATH\n"
        "end\n"
        "\n"
        "function conda --inherit-variable CONDA_EXE\n"
        "    if test (count $argv) -lt 1\n"
        "        $CONDA_EXE\n"
        "    else\n"
        "        set -l cmd $argv[1]\n"
        "        set -e argv[1]\n"
        "        switch $cmd\n"
        "            case activate deactivate\n"
        "                eval ($CONDA_EXE shell.fish $cmd $argv)\n"
        "            case '*'\n"
        "                $CONDA_EXE $cmd $argv\n"
        "        end\n"
        "    end\n"
        "end\n"
    )


def write_installation(where: Path, prefix: str, label: str) -> None:
    """Write the startup files and ``bin/conda`` of an installation whose shells see it at
    ``prefix`` (for a FUSE share: ``where`` is the backing dir, ``prefix`` the mount path)."""
    for sub in ("etc/profile.d", "etc/fish/conf.d", "bin", "condabin", str(Path(INNER_CSH).parent)):
        (where / sub).mkdir(parents=True, exist_ok=True)
    (where / "etc/profile.d/conda.sh").write_text(conda_sh(prefix))
    (where / "etc/profile.d/conda.csh").write_text(conda_csh_outer(prefix))
    (where / INNER_CSH).write_text(conda_csh_inner())
    (where / "etc/fish/conf.d/conda.fish").write_text(conda_fish(prefix))
    exe = where / "bin/conda"
    exe.write_text(f'#!/bin/sh\necho conda-from-{label} "$@"\n')
    exe.chmod(0o755)
