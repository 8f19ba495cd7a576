# condashare: the choice and the check as a stand-alone /bin/sh program for the csh and fish
# blocks, which cannot read with a timeout themselves. In: _CONDASHARE_T (the probe timeout),
# CONDASHARE_PLATFORM and CONDASHARE_INSTALLATION (see choose.sh). Prints three or more lines:
# the verdict, the chosen installation's number (the block knows its prefix by it) and then
# "-" (local: source the file directly); "ok" then the content (fish) or a private file holding
# it (csh; "-": none, source the file directly); missing, unresponsive or error then the phrase;
# or "none", 0 and the message.
exec </dev/null 2>/dev/null
_condashare_bi=command
_condashare_u=
__CONDASHARE_CHOOSE__
if [ -z "$_condashare_p" ]; then
  printf 'none\n0\n%s\n' "$_condashare_why"
  exit 0
fi
_condashare_f=$_condashare_p/__CONDASHARE_CONDA_FILE__
_condashare_t=$_CONDASHARE_T
_condashare_aw=__CONDASHARE_AWK__
__CONDASHARE_CHECK__
__CONDASHARE_RACE__
__CONDASHARE_READER__
case "$_condashare_st" in
  local)
    printf 'local\n%s\n-\n' "$_condashare_i"
    exit 0 ;;
  '')
    _condashare_race "$_condashare_t" __CONDASHARE_READ_CMD__
    _condashare_st=${_condashare_x%%"$_condashare_nl"*}
    if [ "$_condashare_st" = ok ]; then
      _condashare_x=${_condashare_x#ok}
      printf 'ok\n%s\n%s\n\n' "$_condashare_i" "${_condashare_x#"$_condashare_nl"}" # (always a third line, even for an empty file)
      exit 0
    fi ;;
esac
__CONDASHARE_VERDICT__
printf '%s\n%s\n%s\n' "$_condashare_st" "$_condashare_i" "$_condashare_why"
