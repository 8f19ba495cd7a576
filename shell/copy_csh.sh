# condashare: conda.csh for tcsh, which cannot source a string (POSIX sh, in the csh block's
# helper). conda's own conda.csh is a few setenv lines and
# `source "<site-packages>/conda/shell/etc/profile.d/conda.csh"`; both files are read here (by
# read.awk) and the inner one put in place of its line. The result goes to a private file
# (mktemp: a new random name, created exclusively, mode 0600) whose first line removes it, so
# tcsh opens nothing on the share. _condashare_copy FILE prints "ok", the private file's name
# (or "-": no private place, tcsh sources FILE itself, now) and the end line, in one write; or
# read.awk's verdict. A reader that lost the race finds the pipe closed (SIGPIPE is ignored, so
# printf fails) and removes its file.

# A directory where only we can create, rename or remove our files: sticky (/tmp), or owned by
# us and writable by nobody else. Its name must need no quoting in csh.
_condashare_private() {
  case $1 in
    /*) ;;
    *) return 1 ;;
  esac
  case $1 in
    *[!A-Za-z0-9/._-]*) return 1 ;;
  esac
  [ -d "$1" ] && [ ! -L "$1" ] || return 1
  [ -k "$1" ] && return 0
  [ -O "$1" ] || return 1
  case $(ls -ld "$1" 2>/dev/null) in
    d????[!w]??[!w]*) return 0 ;;
  esac
  return 1
}

# read.awk's answer for $1 without "ok" and the end line in _condashare_l; else print the
# verdict (awk that died without one: a read error) and fail.
_condashare_get() {
  _condashare_l=$(awk "$_condashare_aw" "$1")
  case $_condashare_l in
    ok"$_condashare_nl"*"#condashare-end")
      _condashare_l=${_condashare_l#ok"$_condashare_nl"}
      _condashare_l=${_condashare_l%"#condashare-end"}
      return 0 ;;
    *"#condashare-end") printf '%s\n' "$_condashare_l" ;;
    *) printf 'error read error\n#condashare-end\n' ;;
  esac
  return 1
}

_condashare_copy() {
  _condashare_get "$1" || return 0
  _condashare_c=$_condashare_l
  _condashare_o=
  while IFS= read -r _condashare_l; do
    case $_condashare_l in
      'source "/'*'"')
        _condashare_i=${_condashare_l#source \"}
        _condashare_i=${_condashare_i%\"}
        case $_condashare_i in
          *'"'* | *'$'* | *'`'* | *'!'* | *'\'*) ;; # csh would expand it: left to tcsh
          *) _condashare_get "$_condashare_i" || return 0 ;;
        esac ;;
    esac
    _condashare_o=$_condashare_o$_condashare_l$_condashare_nl
  done <<EOF
$_condashare_c
EOF
  for _condashare_d in "${XDG_RUNTIME_DIR-}" /tmp; do
    _condashare_private "$_condashare_d" || continue
    _condashare_x=$(umask 077 && mktemp "$_condashare_d/condashare.XXXXXXXXXX" 2>/dev/null) || continue
    if printf "/bin/rm -f -- '%s'\n%s" "$_condashare_x" "$_condashare_o" >"$_condashare_x" &&
      printf 'ok\n%s\n#condashare-end\n' "$_condashare_x"; then
      return
    fi
    rm -f -- "$_condashare_x"
    return
  done
  printf 'ok\n-\n#condashare-end\n'
}
