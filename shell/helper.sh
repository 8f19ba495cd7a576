# condashare: the check as a stand-alone /bin/sh program for the csh and fish blocks, which
# cannot read with a timeout themselves. In: _CONDASHARE_PE, _CONDASHARE_F, _CONDASHARE_T.
# Prints two or more lines: "local" and "-" (source the file directly); "ok" and the content
# (fish) or a private file holding it (csh; "-": none, source the file directly); or the
# verdict and its phrase (missing, unresponsive, error).
exec </dev/null 2>/dev/null
_condashare_bi=command
_condashare_pe=$_CONDASHARE_PE
_condashare_f=$_CONDASHARE_F
_condashare_t=$_CONDASHARE_T
_condashare_aw=__CONDASHARE_AWK__
__CONDASHARE_CHECK__
__CONDASHARE_RACE__
__CONDASHARE_READER__
case "$_condashare_st" in
  local)
    printf 'local\n-\n'
    exit 0 ;;
  '')
    _condashare_race "$_condashare_t" __CONDASHARE_READ_CMD__
    _condashare_st=${_condashare_x%%"$_condashare_nl"*}
    if [ "$_condashare_st" = ok ]; then
      printf '%s\n\n' "$_condashare_x" # (always a second line, even for an empty file)
      exit 0
    fi ;;
esac
__CONDASHARE_VERDICT__
printf '%s\n%s\n' "$_condashare_st" "$_condashare_why"
