# condashare: which installation? (POSIX sh, shared by all dialects: the sh block runs it in the
# shell, the csh and fish blocks in their /bin/sh helper, so every shell chooses alike.)
# In:  _condashare_u   `uname -sm` (empty: run here when needed)
# Out: _condashare_p, _condashare_pe  the chosen installation's prefix (mountinfo-escaped too)
#      _condashare_i   its number in the site file (for the csh and fish blocks), 0 for none
#      _condashare_why the message when none was chosen
# The same choice as condashare.site.installations.choose_installation: CONDASHARE_PLATFORM
# (OS-ARCH) replaces uname, CONDASHARE_INSTALLATION=name forces one. Their values are matched
# against literal patterns only, never evaluated; leading and trailing blanks do not count.
# A value the block obeys is exported (a user may have set it without export): commands run
# from this shell, `condashare info` among them, then see the choice the block made.
_condashare_p=
_condashare_pe=
_condashare_i=0
_condashare_why=
_condashare_m=
_condashare_n=${CONDASHARE_PLATFORM-}
__CONDASHARE_STRIP_N__
if $_condashare_bi [ -n "$_condashare_n" ]; then
  $_condashare_bi export CONDASHARE_PLATFORM
  _condashare_o=${_condashare_n%%-*}
  _condashare_a=${_condashare_n#*-}
  $_condashare_bi [ "$_condashare_a" != "$_condashare_n" ] || _condashare_a=
__CONDASHARE_STRIP_OA__
  case $_condashare_o in
__CONDASHARE_OSES__
    *) _condashare_o= ;;
  esac
  case $_condashare_a in
__CONDASHARE_ARCHES__
    *) _condashare_a= ;;
  esac
  if $_condashare_bi [ -n "$_condashare_o" ] && $_condashare_bi [ -n "$_condashare_a" ]; then
    _condashare_u="$_condashare_o $_condashare_a"
  else
    case $_condashare_n in
      *[![:alnum:]\ ._+@%,:=/-]*) _condashare_n='(a value with unusual characters)' ;;
    esac
    _condashare_why="CONDASHARE_PLATFORM=$_condashare_n is not a platform (OS-ARCH such as linux-x86_64 or macos-arm64); conda is not set up in this shell"
  fi
  _condashare_o=1
else
  _condashare_o=
fi
_condashare_n=${CONDASHARE_INSTALLATION-}
__CONDASHARE_STRIP_N__
if $_condashare_bi [ -n "$_condashare_why" ]; then
  :
elif $_condashare_bi [ -n "$_condashare_n" ]; then
  $_condashare_bi export CONDASHARE_INSTALLATION
  case $_condashare_n in
__CONDASHARE_NAMES__
    *)
      case $_condashare_n in
        *[![:alnum:]\ ._+@%,:=/-]*) _condashare_n='(a value with unusual characters)' ;;
      esac
      _condashare_why="CONDASHARE_INSTALLATION=$_condashare_n: no such installation (__CONDASHARE_NAME_LIST__); conda is not set up in this shell" ;;
  esac
else
  $_condashare_bi [ -n "$_condashare_u" ] || _condashare_u=$(\exec ${ZSH_VERSION:+command} uname -sm 2>/dev/null)
__CONDASHARE_SELECT__
  $_condashare_bi [ -n "$_condashare_p" ] || _condashare_why="no shared conda installation for $_condashare_u"
fi
$_condashare_bi unset _condashare_n _condashare_o _condashare_a _condashare_m
