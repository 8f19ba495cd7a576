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
    # -- mount table (condashare's shell/check.sh) --
__CONDASHARE_CHECK__
    # -- end of check: _condashare_st is local, missing, "error WHY", or empty (probe) --
    if [ "$_condashare_st" = local ]; then
      _condashare_st=ok
      . "$_condashare_f"
    elif [ -z "$_condashare_st" ]; then
      # The probe child (shell/read.sh) reads conda.sh and the shell sources what it read.
      _condashare_rd=__CONDASHARE_READ__
      if [ -n "${ZSH_VERSION-}" ] || { [ "${BASH_VERSINFO-0}" -ge 4 ] 2>/dev/null && case ":${SHELLOPTS-}:" in *:posix:*) false ;; *) true ;; esac; }; then
        # bash >= 4, zsh: awk reads the whole file, closes it, then writes "ok" and the content,
        # so once "ok" arrived (read -t) the rest comes from memory: source the pipe. awk says
        # "fail" when it could not read; then read.sh tells missing from "error WHY".
        _condashare_aw='BEGIN { f = ARGV[1]; while ((r = (getline l < f)) > 0) s = s l "\n"; close(f); if (r == 0) printf "ok\n%s", s; else print "fail" }'
        eval 'for _condashare_x in awk sh; do
          exec {_condashare_fd}< <(if [ "$_condashare_x" = awk ]; then exec awk "$_condashare_aw" "$_condashare_f"; else exec /bin/sh -c "$_condashare_rd" sh read "$_condashare_f" posix; fi </dev/null 2>/dev/null)
          _condashare_st=
          read -r -t "$_condashare_t" -u "$_condashare_fd" _condashare_st || :
          if [ "$_condashare_st" = ok ]; then . "/dev/fd/$_condashare_fd"; fi
          exec {_condashare_fd}<&-
          [ "$_condashare_st" = fail ] || break
        done'
        unset _condashare_aw _condashare_fd
      else
        # dash and others without read -t: read.sh races the reader against a timer.
        _condashare_x=$(/bin/sh -c "$_condashare_rd" sh race "$_condashare_f" posix "$_condashare_t" </dev/null 2>/dev/null)
        _condashare_st=${_condashare_x%%"
"*}
        if [ "$_condashare_st" = ok ]; then
          eval "${_condashare_x#ok}"
        fi
      fi
      unset _condashare_rd _condashare_x
    fi
__CONDASHARE_VERDICT__
    if [ "$_condashare_st" = ok ]; then
      unset CONDASHARE_UNAVAILABLE
    else
      CONDASHARE_UNAVAILABLE=1
      export CONDASHARE_UNAVAILABLE
      case $- in
        *i*) printf 'condashare: shared conda %s %s; conda is not set up in this shell\n' "$_condashare_p" "$_condashare_why" >&2 ;;
      esac
    fi
  else
    case $- in
      *i*) printf 'condashare: no shared conda installation for %s\n' "$_condashare_u" >&2 ;;
    esac
  fi
  unset _condashare_p _condashare_pe _condashare_f _condashare_t _condashare_st _condashare_why _condashare_u
fi
