# condashare: the probe child (POSIX sh). It reads the conda startup file the shell is about to
# source, because only an open and a read prove that the share answers: a client's attribute
# cache answers `[ -r FILE ]` for seconds after the server died. The shell sources what this
# child read, so the shell itself never opens a file on the share at start-up.
# It runs as a freshly exec'd /bin/sh with stdin and stderr on /dev/null and stdout on a pipe
# of its own, so when it gets stuck in the kernel it holds none of the shell's descriptors.
#
#   /bin/sh -c "$program" sh read FILE DIALECT
#       prints "ok", a line break and the content; or "missing"; or "error WHY"; then a last
#       line "#condashare-end" (a comment in every dialect), all in one write.
#       DIALECT csh: conda.csh is expanded and written to a private file; its name follows "ok".
#   /bin/sh -c "$program" sh race FILE DIALECT SECONDS
#       the same without the end line, or "unresponsive" when the read took longer than
#       SECONDS (for shells without `read -t`): the reader and a timer race, the first
#       complete answer wins. (_condashare_race sets _condashare_x instead of printing.)
_condashare_nl='
'

# Why reading $1 failed, as a verdict line; cat's own message (C locale) names the errno.
_condashare_fail() {
  _condashare_e=$(LC_ALL=C cat -- "$1" 2>&1 >/dev/null)
  _condashare_e=${_condashare_e##*: }
  case $_condashare_e in
    'No such file or directory' | 'Not a directory') _condashare_e=missing ;;
    '') _condashare_e='error read failed' ;;
    *) _condashare_e="error $(printf '%s' "$_condashare_e" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9 ./-')" ;;
  esac
  printf '%s\n#condashare-end\n' "$_condashare_e"
}

# A directory where only we can create, rename or remove our files: owned by us and writable
# by nobody else, or sticky (/tmp). Its name must be safe to quote for csh.
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

# tcsh cannot source a string, so conda.csh goes to a private file (mktemp: a new random name,
# created exclusively, mode 0600) whose first line removes it. conda's own conda.csh is a few
# setenv lines and `source "<site-packages>/conda/shell/etc/profile.d/conda.csh"`; that file
# is read here too and put in place of the line, so tcsh opens nothing on the share. A reader
# that lost the race finds the pipe closed (SIGPIPE ignored: printf fails) and removes its file.
_condashare_csh() {
  _condashare_o=
  while IFS= read -r _condashare_l; do
    case $_condashare_l in
      'source "/'*'"')
        _condashare_i=${_condashare_l#source \"}
        _condashare_i=${_condashare_i%\"}
        case $_condashare_i in
          *'"'* | *'$'* | *'`'* | *'!'* | *'\'*) ;;
          *)
            _condashare_l=$(cat -- "$_condashare_i" 2>/dev/null) || {
              _condashare_fail "$_condashare_i"
              return
            } ;;
        esac ;;
    esac
    _condashare_o=$_condashare_o$_condashare_l$_condashare_nl
  done <<EOF
$1
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
  printf 'ok\n-\n#condashare-end\n' # no private place: tcsh sources the file itself, now
}

# The verdict and, when it is ok, the content.
_condashare_read() {
  _condashare_c=$(cat -- "$1" 2>/dev/null) || {
    _condashare_fail "$1"
    return
  }
  case $2 in
    csh) _condashare_csh "$_condashare_c" ;;
    *) printf 'ok\n%s\n#condashare-end\n' "$_condashare_c" ;;
  esac
}

# The reader and a timer write into one pipe; sed passes on the text up to the first end mark
# and quits, so the answer comes as soon as one of them is done. Nothing is killed or waited
# for: a reader stuck on a dead share finds the pipe closed when it wakes up, and the timer's
# line (one small write, so never split) ends a late reader's text as unresponsive.
_condashare_race() {
  _condashare_x=$(
    {
      {
        trap '' PIPE
        _condashare_read "$1" "$2"
      } &
      {
        sleep "$3"
        printf '\n#condashare-timeout\n'
      } &
    } | sed -e '/^#condashare-end$/q' -e '/^#condashare-timeout$/q'
  )
  case $_condashare_x in
    *"$_condashare_nl#condashare-end") _condashare_x=${_condashare_x%"$_condashare_nl#condashare-end"} ;;
    *) _condashare_x=unresponsive ;;
  esac
}

case ${1-} in
  read) _condashare_read "$2" "$3" ;;
  race)
    _condashare_race "$2" "$3" "$4"
    printf '%s\n' "$_condashare_x" ;;
esac
