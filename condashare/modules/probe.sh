# condashare modulefile helper (POSIX sh, run by /bin/sh -c from the modulefile): $1 release,
# $2 probe timeout in seconds, $3 "find" (which installation; touches nothing) or "load" (also
# read a file of the env and list its activate.d scripts, bounded by the timeout), $4 conda's
# shell integration file for the shell loading the module, below the prefix (or empty).
# Prints one line: "none<TAB>uname", "at<TAB>prefix", "ok<TAB>prefix<TAB>script...[<TAB>+conda]",
# "missing<TAB>prefix", "unreadable<TAB>prefix" or "unresponsive<TAB>prefix".
# A PATH entry on a share of the site (an env loaded before) would make every command lookup
# below hang when that share is dead: keep only the others.
_condashare_x=
_condashare_y="$PATH:"
while [ -n "$_condashare_y" ]; do
  _condashare_z=${_condashare_y%%:*}
  _condashare_y=${_condashare_y#*:}
  case "$_condashare_z" in
    __CONDASHARE_DROP__) ;;
    *) _condashare_x="$_condashare_x${_condashare_x:+:}$_condashare_z" ;;
  esac
done
PATH=${_condashare_x:-/usr/bin:/bin}
_condashare_p=
_condashare_pe=
_condashare_u=$(uname -sm 2>/dev/null)
case "$_condashare_u" in
__CONDASHARE_CASES__
esac
if [ -z "$_condashare_p" ]; then printf 'none\t%s\n' "$_condashare_u"; exit 0; fi
if [ "$3" != load ]; then printf 'at\t%s\n' "$_condashare_p"; exit 0; fi
# The racing pair of the shell block's check: the first line wins, neither is waited for (a
# read stuck on a dead share cannot be killed; it is left holding nothing of ours).
/bin/sh -c '
  e="$1/envs/$2"
  { if [ ! -e "$e/conda-meta/history" ]; then printf "missing\t%s\n" "$1"
    elif ! head -c 1 "$e/conda-meta/history" >/dev/null 2>&1; then printf "unreadable\t%s\n" "$1"
    else
      printf "ok\t%s" "$1"
      for f in "$e"/etc/conda/activate.d/*.sh; do [ -f "$f" ] && printf "\t%s" "${f##*/}"; done
      # The conda shell function comes from that file ($4): read it here too, since the
      # module system sources it next (without a timeout).
      c="$1/$4"
      [ -n "$4" ] && [ -f "$c" ] && head -c 1 "$c" >/dev/null 2>&1 && printf "\t+conda"
      echo
    fi; } &
  { sleep "$3"; printf "unresponsive\t%s\n" "$1"; } &' sh "$_condashare_p" "$1" "$2" "$4" \
  </dev/null 2>/dev/null | { read -r _l; printf '%s\n' "$_l"; }
