# Match rules (condashare's shell/rules.sh): the facts the site file's rules test, as one string
# the case patterns match after uname's words: ";c=CPU;g=GPU;l=GLIBC;h=HOST". Host name and GPU
# are read at once (one read of the host name; the NVIDIA driver's version file, where there is
# one, read line by line for the "Kernel Module ... VERSION" text condashare.host.machine
# matches). The CPU level and glibc, the costly ones (the
# kernel writes /proc/cpuinfo; getconf is a fork), start as "?" and are found out only when the
# first installation whose other rules hold asks for them: its arm then says which (c or l), it
# is read, and the case runs again. So the first installation whose rules hold wins, as in
# condashare, and a fact no reached installation asks about costs nothing. Built-ins only, except
# getconf (glibc) and sysctl (Apple CPU). Every file read here is on procfs, never on a share.
  _condashare_c='?'
  _condashare_g=0
  _condashare_l='?'
  _condashare_h=
  { $_condashare_bi read -r _condashare_h <__CONDASHARE_PROC__/sys/kernel/hostname; } 2>/dev/null || :
  $_condashare_bi [ -n "$_condashare_h" ] || _condashare_h=${HOSTNAME-${HOST-}}
  $_condashare_bi [ -n "$_condashare_h" ] || _condashare_h=$(\exec ${ZSH_VERSION:+command} uname -n 2>/dev/null)
  case "$_condashare_u" in
    Linux*)
      _condashare_v=
      { while $_condashare_bi read -r _condashare_v || $_condashare_bi [ -n "$_condashare_v" ]; do
          case $_condashare_v in
            *'Kernel Module'*)
              _condashare_k=${_condashare_v#*'Kernel Module'}
              case $_condashare_k in
                ' for '[![:space:]]*)
                  _condashare_k=${_condashare_k#' for '}
                  _condashare_k=${_condashare_k#"${_condashare_k%%[[:space:]]*}"} ;;
              esac
              _condashare_v=${_condashare_k#"${_condashare_k%%[![:blank:]]*}"}
              $_condashare_bi [ "$_condashare_v" != "$_condashare_k" ] || _condashare_v=
              _condashare_k=${_condashare_v%%[!0-9]*}
              case $_condashare_k/${_condashare_v#"$_condashare_k"} in
                ?*/.[0-9]*) _condashare_g=1; break ;;
              esac ;;
          esac
          _condashare_v=
        done <__CONDASHARE_PROC__/driver/nvidia/version; } 2>/dev/null || : ;;
  esac
  while :; do
    _condashare_m=";c=$_condashare_c;g=$_condashare_g;l=$_condashare_l;h=$_condashare_h"
    _condashare_k=
__CONDASHARE_SELECT__
    case $_condashare_k in
      c)
        _condashare_c=
        case "$_condashare_u" in
          'Linux x86_64')
            _condashare_v=
            { while $_condashare_bi read -r _condashare_k _condashare_v; do
                $_condashare_bi [ "$_condashare_k" = flags ] && break
                _condashare_v=
              done <__CONDASHARE_PROC__/cpuinfo; } 2>/dev/null
            _condashare_c=1
            for _condashare_k in __CONDASHARE_LEVEL_FLAGS__; do
              case $_condashare_k in
                [234]) _condashare_c=$_condashare_k ;;
                *) case " $_condashare_v " in *" $_condashare_k "*) ;; *) break ;; esac ;;
              esac
            done
            $_condashare_bi [ -n "$_condashare_v" ] || _condashare_c= ;;
          'Darwin '*)
            _condashare_v=$(\exec /usr/sbin/sysctl -n machdep.cpu.brand_string 2>/dev/null)
            case "$_condashare_v" in
              *'Apple M'[0-9]*)
                _condashare_c=${_condashare_v#*Apple M}
                _condashare_c=m${_condashare_c%%[!0-9]*} ;;
            esac ;;
        esac ;;
      l)
        _condashare_l=
        case "$_condashare_u" in
          Linux*)
            _condashare_l=$(\exec ${ZSH_VERSION:+command} getconf GNU_LIBC_VERSION 2>/dev/null)
            _condashare_l=${_condashare_l#glibc }
            case $_condashare_l in '?') _condashare_l= ;; esac ;;
        esac ;;
      *) break ;;
    esac
  done
  $_condashare_bi unset _condashare_c _condashare_g _condashare_l _condashare_h _condashare_k _condashare_v
