# User aliases and functions must not change the block (an alias of read or case made dash -i
# loop forever). bash and zsh parse the rest with alias expansion off (restored at the end);
# commands run through $_condashare_bi (builtin in bash and zsh; command in dash, which expands
# no reserved word), so neither an alias nor a function of the same name is used.
_condashare_bi=command
\eval ${BASH_VERSION:+'_condashare_bi=builtin; _condashare_al=; \builtin shopt -q expand_aliases 2>/dev/null && _condashare_al="\builtin shopt -s expand_aliases"; \builtin shopt -u expand_aliases 2>/dev/null'}${ZSH_VERSION:+'_condashare_bi=builtin; _condashare_al="\builtin ${${options[aliases]/on/setopt}/off/unsetopt} aliases"; \builtin unsetopt aliases'}
# The kernel's name and architecture (what uname -sm prints), where bash or zsh can learn them
# without starting uname:
# - bash on Linux reads /proc/sys/kernel/{ostype,arch} (arch since Linux 6.1: the field uname
#   returns) when that architecture is the one bash was built for ($HOSTTYPE): not a 32-bit
#   bash on a 64-bit kernel, nor one run by qemu-user, whose uname answers for the emulated
#   machine while /proc tells the host's. Under `setarch i686` a 64-bit bash gets the kernel's
#   x86_64, which it can run: the one difference from uname.
# - zsh has the machine uname(2) gave it at its start ($CPUTYPE) and the OS it was built for
#   ($OSTYPE: linux-gnu, darwin23.0), taken when the first uname on $path is the system's
#   (/usr/bin or /bin: a uname put earlier on PATH is asked, as everywhere) and $CPUTYPE is
#   the machine zsh was built for ($MACHTYPE; not a value a startup file set). Hidden in eval,
#   as dash cannot parse ${path[@]}.
# Otherwise (an older kernel, dash, a bash on macOS) bash >= 4.1 and zsh start uname now: it
# runs while they parse the rest of the block. (None when CONDASHARE_PLATFORM names the
# platform instead.)
_condashare_uk=
case ${_CONDASHARE_DONE-}/${BASH_VERSION:+bash}${ZSH_VERSION:+zsh}${CONDASHARE_PLATFORM:+/platform} in
  "$$"/* | */ | */platform) ;;
  */bash)
    { $_condashare_bi read -r _condashare_uk <__CONDASHARE_PROC__/sys/kernel/arch && $_condashare_bi read -r _condashare_uo <__CONDASHARE_PROC__/sys/kernel/ostype; } 2>/dev/null || _condashare_uk=
    if $_condashare_bi [ -n "$_condashare_uk" ] && $_condashare_bi [ "$_condashare_uk" = "${HOSTTYPE-}" ]; then
      _condashare_uk="$_condashare_uo $_condashare_uk"
    else
      _condashare_uk=
    fi ;;
  */zsh)
    _condashare_uo=
    $_condashare_bi eval 'for _condashare_uo in "${path[@]}"; do
        $_condashare_bi [ -f "$_condashare_uo/uname" ] && $_condashare_bi [ -x "$_condashare_uo/uname" ] && \break
        _condashare_uo=
      done'
    $_condashare_bi [ "${CPUTYPE-}" = "${MACHTYPE-}" ] || _condashare_uo=
    case ${_condashare_uo:-none}/${OSTYPE-}/${CPUTYPE-} in
      /usr/bin/linux*/?* | /bin/linux*/?*) _condashare_uk="Linux $CPUTYPE" ;;
      /usr/bin/darwin*/?* | /bin/darwin*/?*) _condashare_uk="Darwin $CPUTYPE" ;;
    esac ;;
esac
case ${_CONDASHARE_DONE-}/${BASH_VERSION-}${ZSH_VERSION-}/:${SHELLOPTS-}:${CONDASHARE_PLATFORM:+/platform}${_condashare_uk:+/platform} in
  "$$"/* | *:posix:* | */platform) ;;
  */[5-9]* | */4.[1-9]*) $_condashare_bi eval 'exec {_condashare_uf}< <(exec ${ZSH_VERSION:+command} uname -sm 2>/dev/null)' ;;
esac
if $_condashare_bi [ "${_CONDASHARE_DONE-}" != "$$" ]; then
  _CONDASHARE_DONE=$$
  _condashare_u=$_condashare_uk
  if $_condashare_bi [ -n "${_condashare_uf-}" ]; then
    $_condashare_bi read -r _condashare_u <&"$_condashare_uf" || :
    $_condashare_bi eval 'exec {_condashare_uf}<&-'
    $_condashare_bi unset _condashare_uf
  fi
  # -- the choice (condashare's shell/choose.sh) --
__CONDASHARE_CHOOSE__
  if $_condashare_bi [ -n "$_condashare_p" ]; then
    _condashare_f="$_condashare_p/etc/profile.d/conda.sh"
    _condashare_t=__CONDASHARE_TIMEOUT__
    # -- mount table (condashare's shell/check.sh) --
__CONDASHARE_CHECK__
    # -- end of check: _condashare_st is local, missing, "error WHY", or empty (probe) --
    if $_condashare_bi [ "$_condashare_st" = local ]; then
      _condashare_st=ok
      $_condashare_bi . "$_condashare_f"
    elif $_condashare_bi [ -z "$_condashare_st" ]; then
      # The probe child (awk running shell/read.awk) reads conda.sh; the shell sources what it
      # read. Its answer comes in one write after it closed the file: once "ok" arrived, the
      # rest comes from memory.
      _condashare_aw=__CONDASHARE_AWK__
      if $_condashare_bi [ -n "${ZSH_VERSION-}" ] || { $_condashare_bi [ "${BASH_VERSINFO-0}" -ge 4 ] 2>/dev/null && case ":${SHELLOPTS-}:" in *:posix:*) false ;; *) true ;; esac; }; then
        # bash >= 4 and zsh: read the verdict with a timeout, then source the rest of the pipe.
        _condashare_x=
        _condashare_rc=0
        _condashare_dir=/dev/fd # (a container may lack it; then /proc has the same)
        $_condashare_bi [ -d /dev/fd ] || _condashare_dir=/proc/self/fd
        $_condashare_bi [ -z "${ZSH_VERSION-}" ] || $_condashare_bi eval '_condashare_x=${(%):-%D{%s%3.}}'
        $_condashare_bi eval 'exec {_condashare_fd}< <(exec ${ZSH_VERSION:+command} awk "$_condashare_aw" "$_condashare_f" </dev/null 2>/dev/null)
          $_condashare_bi read -r -t "$_condashare_t" -u "$_condashare_fd" _condashare_st || _condashare_rc=$?
          if $_condashare_bi [ "$_condashare_st" = ok ]; then $_condashare_bi . "$_condashare_dir/$_condashare_fd"; fi
          exec {_condashare_fd}<&-'
        # No line: a timeout, or a reader that ended without an answer (bash tells them apart
        # by a status above 128, zsh only by the clock).
        if $_condashare_bi [ -z "$_condashare_st" ]; then
          if $_condashare_bi [ -n "$_condashare_x" ]; then
            $_condashare_bi eval '_condashare_rc=${(%):-%D{%s%3.}}; (( _condashare_rc - _condashare_x < _condashare_t * 1000 ))' && _condashare_st='error read error'
          elif $_condashare_bi [ "$_condashare_rc" -le 128 ]; then
            _condashare_st='error read error'
          fi
        fi
      else
        # dash and others without read -t: shell/race.sh races the reader against a timer.
        _condashare_x=$(/bin/sh -c __CONDASHARE_RACE_PROGRAM__ sh "$_condashare_t" awk "$_condashare_aw" "$_condashare_f" </dev/null 2>/dev/null)
        _condashare_st=${_condashare_x%%"
"*}
        if $_condashare_bi [ "$_condashare_st" = ok ]; then
          $_condashare_bi eval "${_condashare_x#ok}"
        fi
      fi
      $_condashare_bi unset _condashare_aw _condashare_fd _condashare_x _condashare_rc _condashare_dir
    fi
__CONDASHARE_VERDICT__
    if $_condashare_bi [ "$_condashare_st" = ok ]; then
      $_condashare_bi unset CONDASHARE_UNAVAILABLE
    else
      CONDASHARE_UNAVAILABLE=1
      $_condashare_bi export CONDASHARE_UNAVAILABLE
      case $- in
        *i*) $_condashare_bi printf 'condashare: shared conda %s %s; conda is not set up in this shell\n' "$_condashare_p" "$_condashare_why" >&2 ;;
      esac
    fi
  else
    case $- in
      *i*) $_condashare_bi printf 'condashare: %s\n' "$_condashare_why" >&2 ;;
    esac
  fi
  $_condashare_bi unset _condashare_p _condashare_pe _condashare_i _condashare_f _condashare_t _condashare_st _condashare_why _condashare_u
fi
\eval "${_condashare_al-}"
\unset _condashare_al _condashare_bi _condashare_uk _condashare_uo
