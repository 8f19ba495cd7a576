# condashare: a bounded read for shells without `read -t` (POSIX sh; dash, and the csh and fish
# blocks' helper). Runs inside a freshly exec'd /bin/sh whose stdin and stderr are /dev/null.
# _condashare_race SECONDS COMMAND...: COMMAND (the reader, see read.awk) and a timer write into
# one pipe; sed passes on the text up to the first end mark and quits, so the answer comes as
# soon as one of them is done. Nothing is killed or waited for: a reader stuck on a dead share
# finds the pipe closed when it wakes up; the timer's line (one small write, never split) ends a
# late reader's text. Sets _condashare_x to the reader's answer without its end line, or to
# "unresponsive".
_condashare_nl='
'
_condashare_race() {
  _condashare_s=$1
  shift
  _condashare_x=$(
    {
      {
        trap '' PIPE
        "$@" || printf 'error read error\n#condashare-end\n' # (it died without an answer)
      } &
      {
        sleep "$_condashare_s"
        printf '\n#condashare-timeout\n'
      } &
    } | sed -e '/^#condashare-end$/q' -e '/^#condashare-timeout$/q'
  )
  case $_condashare_x in
    *"$_condashare_nl#condashare-end") _condashare_x=${_condashare_x%"$_condashare_nl#condashare-end"} ;;
    *) _condashare_x=unresponsive ;;
  esac
}
