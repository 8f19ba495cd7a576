# bash >= 4.1 and zsh start uname now: it runs while they parse the rest of the block.
case ${_CONDASHARE_DONE-}/${BASH_VERSION-}${ZSH_VERSION-}/:${SHELLOPTS-}: in
  "$$"/* | *:posix:*) ;;
  */[5-9]* | */4.[1-9]*) eval 'exec {_condashare_uf}< <(exec uname -sm 2>/dev/null)' ;;
esac
if [ "${_CONDASHARE_DONE-}" != "$$" ]; then
  _CONDASHARE_DONE=$$
  _condashare_p=
  _condashare_pe=
  if [ -n "${_condashare_uf-}" ]; then
    read -r _condashare_u <&"$_condashare_uf" || :
    eval 'exec {_condashare_uf}<&-'
    unset _condashare_uf
  else
    _condashare_u=$(exec uname -sm 2>/dev/null) # (exec: bash forks once, not twice)
  fi
__CONDASHARE_RULES__
  case "$_condashare_u${_condashare_m-}" in
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
      # The probe child (awk running shell/read.awk) reads conda.sh; the shell sources what it
      # read. Its answer comes in one write after it closed the file: once "ok" arrived, the
      # rest comes from memory.
      _condashare_aw=__CONDASHARE_AWK__
      if [ -n "${ZSH_VERSION-}" ] || { [ "${BASH_VERSINFO-0}" -ge 4 ] 2>/dev/null && case ":${SHELLOPTS-}:" in *:posix:*) false ;; *) true ;; esac; }; then
        # bash >= 4 and zsh: read the verdict with a timeout, then source the rest of the pipe.
        _condashare_x=
        _condashare_rc=0
        _condashare_dir=/dev/fd # (a container may lack it; then /proc has the same)
        [ -d /dev/fd ] || _condashare_dir=/proc/self/fd
        [ -z "${ZSH_VERSION-}" ] || eval '_condashare_x=${(%):-%D{%s%3.}}'
        eval 'exec {_condashare_fd}< <(exec awk "$_condashare_aw" "$_condashare_f" </dev/null 2>/dev/null)
          read -r -t "$_condashare_t" -u "$_condashare_fd" _condashare_st || _condashare_rc=$?
          if [ "$_condashare_st" = ok ]; then . "$_condashare_dir/$_condashare_fd"; fi
          exec {_condashare_fd}<&-'
        # No line: a timeout, or a reader that ended without an answer (bash tells them apart
        # by a status above 128, zsh only by the clock).
        if [ -z "$_condashare_st" ]; then
          if [ -n "$_condashare_x" ]; then
            eval '_condashare_rc=${(%):-%D{%s%3.}}; (( _condashare_rc - _condashare_x < _condashare_t * 1000 ))' && _condashare_st='error read error'
          elif [ "$_condashare_rc" -le 128 ]; then
            _condashare_st='error read error'
          fi
        fi
      else
        # dash and others without read -t: shell/race.sh races the reader against a timer.
        _condashare_x=$(/bin/sh -c __CONDASHARE_RACE_PROGRAM__ sh "$_condashare_t" awk "$_condashare_aw" "$_condashare_f" </dev/null 2>/dev/null)
        _condashare_st=${_condashare_x%%"
"*}
        if [ "$_condashare_st" = ok ]; then
          eval "${_condashare_x#ok}"
        fi
      fi
      unset _condashare_aw _condashare_fd _condashare_x _condashare_rc _condashare_dir
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
  unset _condashare_p _condashare_pe _condashare_f _condashare_t _condashare_st _condashare_why _condashare_u _condashare_m
fi
