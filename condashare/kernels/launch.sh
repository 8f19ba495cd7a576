# condashare: Jupyter kernel launcher for one shared release (POSIX sh, run by /bin/sh).
# Written by 'condashare kernels' from the site file: run it again to update, or
# 'condashare kernels --reverse' to remove it. See docs/kernels.md.
# Only this machine's /bin/sh, uname, od, tr and sleep are used before the release's python runs,
# so the same file works on every OS and CPU sharing the home, and a dead share ends the start
# with a message after the probe timeout instead of hanging the notebook server.
_condashare_r=__CONDASHARE_RELEASE__
_condashare_t=__CONDASHARE_TIMEOUT__
_condashare_p=
_condashare_pe=
_condashare_u=$(uname -sm 2>/dev/null)
case "$_condashare_u" in
__CONDASHARE_CASES__
esac
_condashare_fail() {
  printf 'condashare kernel %s: %s\n' "$_condashare_r" "$1" >&2
  exit 1
}
if [ -z "$_condashare_p" ]; then
  _condashare_fail "no shared installation for this machine ($_condashare_u) in the site file; run 'condashare kernels' again, or ask your administrators"
fi
_condashare_e="$_condashare_p/envs/$_condashare_r"
_condashare_py="$_condashare_e/bin/python"
# Bounded probe that does what the start does next (open and read python): a fresh sh with its
# own streams reads the first four bytes while a timer races it; the first line wins and neither
# is waited for (a read stuck on a dead share cannot be killed; it is left holding nothing of ours).
_condashare_a=$(/bin/sh -c '
  { if [ -e "$1" ]; then m=$(od -An -N4 -tx1 "$1" | tr -d " \t\n"); echo "read ${m:-unreadable}"; else echo missing; fi; } &
  { sleep "$2"; echo unresponsive; } &' sh "$_condashare_py" "$_condashare_t" </dev/null 2>/dev/null | { read -r _l; echo "$_l"; })
case "$_condashare_a" in
  missing)
    _condashare_fail "release $_condashare_r is not installed for this machine ($_condashare_u): $_condashare_py does not exist; choose another kernel, or run 'condashare kernels' to refresh the list" ;;
  "read unreadable")
    _condashare_fail "cannot read $_condashare_py (permissions?)" ;;
  "read "*) ;;
  *)
    _condashare_fail "the share holding $_condashare_p did not answer within $_condashare_t s (server down or network trouble); try again later, 'condashare doctor mount' tells more" ;;
esac
case "$_condashare_u:${_condashare_a#read }" in
  Linux*:7f454c46|Darwin*:cffaedfe|Darwin*:cefaedfe|Darwin*:cafebabe|Darwin*:bebafeca|*:2321*) ;;
  Linux*:cffaedfe|Linux*:cefaedfe|Linux*:cafebabe|Linux*:bebafeca)
    _condashare_fail "$_condashare_py is a macOS (Mach-O) program and cannot run on Linux: the site file's installation for this machine holds another OS's files; tell your administrators" ;;
  Darwin*:7f454c46)
    _condashare_fail "$_condashare_py is a Linux (ELF) program and cannot run on macOS: the site file's installation for this machine holds another OS's files; tell your administrators" ;;
  *)
    _condashare_fail "$_condashare_py is not a program this machine can run (first bytes ${_condashare_a#read })" ;;
esac
# What 'conda activate' of the release sets; the bin dir of an env active before leaves PATH.
if [ -n "${CONDA_PREFIX-}" ]; then
  _condashare_x=
  _condashare_y="$PATH:"
  while [ -n "$_condashare_y" ]; do
    _condashare_z=${_condashare_y%%:*}
    _condashare_y=${_condashare_y#*:}
    if [ "$_condashare_z" != "$CONDA_PREFIX/bin" ]; then
      _condashare_x="$_condashare_x${_condashare_x:+:}$_condashare_z"
    fi
  done
  PATH=$_condashare_x
fi
PATH="$_condashare_e/bin${PATH:+:$PATH}"
CONDA_PREFIX=$_condashare_e
CONDA_DEFAULT_ENV=$_condashare_r
CONDA_SHLVL=1
CONDA_PROMPT_MODIFIER="($_condashare_r) "
CONDA_EXE="$_condashare_p/bin/conda"
CONDA_PYTHON_EXE="$_condashare_p/bin/python"
export PATH CONDA_PREFIX CONDA_DEFAULT_ENV CONDA_SHLVL CONDA_PROMPT_MODIFIER CONDA_EXE CONDA_PYTHON_EXE
for _condashare_x in "$_condashare_e"/etc/conda/activate.d/*.sh; do
  if [ -f "$_condashare_x" ]; then . "$_condashare_x"; fi
done
exec "$_condashare_py" -m ipykernel_launcher "$@"
