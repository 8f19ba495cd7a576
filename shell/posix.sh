if [ "${_CONDASHARE_DONE-}" != "$$" ]; then
  _CONDASHARE_DONE=$$
  _condashare_p=
  _condashare_pe=
  _condashare_u=$(uname -sm 2>/dev/null)
  case "$_condashare_u" in
__CONDASHARE_CASES__
  esac
  if [ -n "$_condashare_p" ]; then
    _condashare_f="$_condashare_p/etc/profile.d/conda.sh"
    _condashare_t=__CONDASHARE_TIMEOUT__
    # -- mount table, then a bounded probe (condashare's shell/check.sh) --
__CONDASHARE_CHECK__
    # -- end of check: _condashare_st is ok, missing or unresponsive --
    if [ "$_condashare_st" = ok ]; then
      unset CONDASHARE_UNAVAILABLE
      . "$_condashare_f"
    else
      CONDASHARE_UNAVAILABLE=1
      export CONDASHARE_UNAVAILABLE
      case $- in
        *i*) printf 'condashare: shared conda %s is %s; conda is not set up in this shell\n' "$_condashare_p" "$_condashare_st" >&2 ;;
      esac
    fi
  else
    case $- in
      *i*) printf 'condashare: no shared conda installation for %s\n' "$_condashare_u" >&2 ;;
    esac
  fi
  unset _condashare_p _condashare_pe _condashare_f _condashare_t _condashare_st _condashare_u
fi
