# Match rules (condashare's shell/rules.sh): the facts the site file's rules test, as one string
# the case patterns match after uname's words: ";c=CPU;g=GPU;l=GLIBC;h=HOST". Host name and GPU
# are read at once (one read of the host name; the NVIDIA driver's version file, where there is
# one, read line by line for the "Kernel Module ... VERSION" text condashare.host.machine
# matches). The CPU level and glibc, the costly ones (the kernel writes /proc/cpuinfo; getconf
# is a fork), start as "?" and are found out only when the first installation whose other
# rules hold asks for them: its arm then says which (c or l), it is read, and the case runs
# again. So the first installation whose rules hold wins, as in condashare, and a fact no
# reached installation asks about costs nothing. Built-ins only, except getconf (glibc) and
# sysctl (Apple CPU), and on a cache miss mkdir and touch.
# The per-host facts cache (Linux; condashare.host.dirs.host_facts_file): lines
# "x86-level BOOT_ID LEVEL end" (valid while the kernel's boot id is the same) and
# "glibc VERSION end" (valid while the file's mtime equals the C library's, which a miss copies
# with touch -r; another C library, as in a container, or an upgraded one has another mtime).
# It is opened at the first c or l asked for; its words are compared, never evaluated; a line
# that does not parse is a miss; it is rewritten once at the end if a fact was read afresh.
# Host names condashare.host.dirs.host_dir_name would change (characters outside
# HOST_NAME_CHARS, a leading dot), a home that is not absolute, a cache file that is a
# symlink or not a regular file: no cache. A write that fails is silent and costs no fork.
  _condashare_c='?'
  _condashare_g=0
  _condashare_l='?'
  _condashare_h=
  _condashare_cf='?'
  _condashare_w=
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
                ?*/.[0-9]*) _condashare_g=1; \break ;;
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
      c | l) ;;
      *) \break ;;
    esac
    if $_condashare_bi [ "$_condashare_cf" = '?' ]; then
      _condashare_cf=
      _condashare_cb=
      _condashare_cc=
      _condashare_cl=
      _condashare_lb=
      case $_condashare_u/$_condashare_h in
        Linux*/ | Linux*/.* | Linux*/*[!__CONDASHARE_HOST_CHARS__]*) ;;
        Linux*)
          _condashare_v=${XDG_CACHE_HOME-}
          case $_condashare_v in
            /*) ;;
            *)
              _condashare_v=${HOME-}
              case $_condashare_v in /*) _condashare_v=$_condashare_v/.cache ;; *) _condashare_v= ;; esac ;;
          esac
          $_condashare_bi [ -z "$_condashare_v" ] || _condashare_cf="$_condashare_v/"__CONDASHARE_CACHE_DIR__"/$_condashare_h/"__CONDASHARE_FACTS_FILE__
          if $_condashare_bi [ -z "$_condashare_cf" ]; then
            :
          elif $_condashare_bi [ -L "$_condashare_cf" ]; then
            _condashare_cf=
          elif $_condashare_bi [ -f "$_condashare_cf" ]; then
            { while $_condashare_bi read -r _condashare_fk _condashare_fa _condashare_fb _condashare_fz; do
                case "$_condashare_fk/$_condashare_fb/$_condashare_fz" in
                  x86-level/[1-4]/end) _condashare_cb=$_condashare_fa; _condashare_cc=$_condashare_fb ;;
                  glibc/end/) _condashare_cl=$_condashare_fa ;;
                esac
              done <"$_condashare_cf"; } 2>/dev/null || :
            case $_condashare_cl in
              *[!0-9.]* | *..* | .* | *.) _condashare_cl= ;;
              *.*) ;;
              *) _condashare_cl= ;;
            esac
          elif $_condashare_bi [ -e "$_condashare_cf" ]; then
            _condashare_cf=
          fi
          if $_condashare_bi [ -n "$_condashare_cf" ]; then
            for _condashare_v in __CONDASHARE_LIBC__; do
              if $_condashare_bi [ -e "$_condashare_v" ]; then
                _condashare_lb=$_condashare_v
                \break
              fi
            done
          fi
          if $_condashare_bi [ -z "$_condashare_lb" ] || $_condashare_bi [ "$_condashare_cf" -nt "$_condashare_lb" ] || $_condashare_bi [ "$_condashare_cf" -ot "$_condashare_lb" ]; then
            _condashare_cl=
          fi ;;
      esac
    fi
    case $_condashare_k in
      c)
        _condashare_c=
        case "$_condashare_u" in
          'Linux x86_64')
            _condashare_b=
            if $_condashare_bi [ -n "$_condashare_cf" ]; then
              { $_condashare_bi read -r _condashare_b <__CONDASHARE_PROC__/sys/kernel/random/boot_id; } 2>/dev/null || :
              case $_condashare_b in *[!0-9a-f-]*) _condashare_b= ;; esac
              if $_condashare_bi [ -n "$_condashare_b" ] && $_condashare_bi [ "$_condashare_b" = "$_condashare_cb" ]; then
                _condashare_c=$_condashare_cc
              fi
            fi
            if $_condashare_bi [ -z "$_condashare_c" ]; then
              _condashare_v=
              { while $_condashare_bi read -r _condashare_k _condashare_v; do
                  $_condashare_bi [ "$_condashare_k" = flags ] && \break
                  _condashare_v=
                done <__CONDASHARE_PROC__/cpuinfo; } 2>/dev/null || :
              _condashare_c=1
              for _condashare_k in __CONDASHARE_LEVEL_FLAGS__; do
                case $_condashare_k in
                  [234]) _condashare_c=$_condashare_k ;;
                  *) case " $_condashare_v " in *" $_condashare_k "*) ;; *) \break ;; esac ;;
                esac
              done
              if $_condashare_bi [ -z "$_condashare_v" ]; then
                _condashare_c=
              elif $_condashare_bi [ -n "$_condashare_b" ]; then
                _condashare_cb=$_condashare_b
                _condashare_cc=$_condashare_c
                _condashare_w=1
              fi
            fi ;;
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
            if $_condashare_bi [ -n "$_condashare_cl" ]; then
              _condashare_l=$_condashare_cl
            else
              _condashare_l=$(\exec ${ZSH_VERSION:+command} getconf GNU_LIBC_VERSION 2>/dev/null)
              _condashare_l=${_condashare_l#glibc }
              case $_condashare_l in
                '?') _condashare_l= ;;
                *[!0-9.]* | *..* | .* | *.) ;;
                *.*)
                  if $_condashare_bi [ -n "$_condashare_lb" ]; then
                    _condashare_cl=$_condashare_l
                    _condashare_w=1
                  fi ;;
              esac
            fi ;;
        esac ;;
    esac
  done
  if $_condashare_bi [ -n "$_condashare_w" ]; then
    _condashare_v=${_condashare_cf%/*}
    if ! $_condashare_bi [ -d "$_condashare_v" ]; then
      _condashare_k=${_condashare_v%/*}
      while $_condashare_bi [ -n "$_condashare_k" ] && ! $_condashare_bi [ -e "$_condashare_k" ] && ! $_condashare_bi [ -L "$_condashare_k" ]; do
        _condashare_k=${_condashare_k%/*}
      done
      if $_condashare_bi [ -d "$_condashare_k/" ] && $_condashare_bi [ -w "$_condashare_k/" ]; then
        (\exec ${ZSH_VERSION:+command} mkdir -p -- "$_condashare_v" </dev/null >/dev/null 2>&1) || :
      fi
    fi
    _condashare_v=
    $_condashare_bi [ -z "$_condashare_cc" ] || _condashare_v="x86-level $_condashare_cb $_condashare_cc end
"
    $_condashare_bi [ -z "$_condashare_cl" ] || _condashare_v="${_condashare_v}glibc $_condashare_cl end
"
    if $_condashare_bi [ -L "$_condashare_cf" ]; then
      :
    elif { $_condashare_bi printf '%s' "$_condashare_v" >|"$_condashare_cf"; } 2>/dev/null; then
      if $_condashare_bi [ -n "$_condashare_cl" ]; then
        (\exec ${ZSH_VERSION:+command} touch -r "$_condashare_lb" -- "$_condashare_cf" </dev/null >/dev/null 2>&1) || :
      fi
    fi
  fi
  $_condashare_bi unset _condashare_c _condashare_g _condashare_l _condashare_h _condashare_k _condashare_v _condashare_cf _condashare_w
  $_condashare_bi unset _condashare_cb _condashare_cc _condashare_cl _condashare_lb _condashare_b _condashare_fk _condashare_fa _condashare_fb _condashare_fz
