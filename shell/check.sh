# condashare: is the shared installation's startup file reachable? (POSIX sh, shared by all dialects)
# In:  _condashare_pe  installation prefix, escaped as the kernel escapes mountinfo (\040 = space)
#      _condashare_f   the conda startup file to source
#      _condashare_t   probe timeout in seconds
# Out: _condashare_st  ok | missing | unresponsive
# 1. The mount table (Linux: /proc/self/mountinfo, read with built-ins, never touches the share):
#    on a known local filesystem, and with no symlink on the way, the file is tested directly.
# 2. Otherwise (network, FUSE, automount, or no table as on macOS) a probe with a bounded wait
#    that never kills or waits for the probe, and that holds none of this shell's descriptors.
_condashare_fs=
if [ -r /proc/self/mountinfo ]; then
  if [ -n "${BASH_VERSION-}${ZSH_VERSION-}" ]; then
    # Fast path: read the table in one go, then find the mount of the nearest ancestor (mount
    # point = field 5, always followed by the options rw/ro) with a pattern match per ancestor.
    _condashare_nl='
'
    _condashare_mi=
    # (zsh's read builtin makes one system call per byte; $(<file) reads it at once)
    if [ -n "${ZSH_VERSION-}" ]; then
      _condashare_mi=$(</proc/self/mountinfo)
    else
      IFS= read -r -d '' _condashare_mi < /proc/self/mountinfo || :
    fi
    _condashare_mi="$_condashare_nl$_condashare_mi"
    _condashare_a=$_condashare_pe
    while :; do
      case "$_condashare_mi" in
        *" ${_condashare_a:-/} r"[ow][,\ ]*)
          # The last such line is the top of a mount stack. Its head (id, parent, dev, root)
          # must have exactly three spaces, else the match was in a later field: go exact.
          # (${x##*pattern} or ${x#*pattern} on the whole table are quadratic in bash and zsh
          # when the line is near the end; % and a substring are linear.)
          _condashare_x=${_condashare_mi%" ${_condashare_a:-/} r"[ow]*}
          _condashare_fs=${_condashare_mi:${#_condashare_x}}
          _condashare_x=${_condashare_x##*"$_condashare_nl"}
          case "$_condashare_x" in
            *" "*" "*" "*" "*) _condashare_fs=? ;;
            *" "*" "*" "*)
              _condashare_fs=${_condashare_fs#* - }
              _condashare_fs=${_condashare_fs%% *} ;;
            *) _condashare_fs=? ;;
          esac
          break ;;
      esac
      [ -n "$_condashare_a" ] || break
      _condashare_a=${_condashare_a%/*}
    done
    unset _condashare_mi _condashare_a _condashare_x _condashare_nl
  fi
  if [ -z "$_condashare_fs" ] || [ "$_condashare_fs" = "?" ]; then
    # Exact path (and dash's): every line, longest mount point that is an ancestor wins.
    _condashare_fs=
    _condashare_m0=
    while read -r _condashare_a _condashare_b _condashare_c _condashare_d _condashare_m _condashare_r; do
      case "$_condashare_pe/" in
        "${_condashare_m%/}"/*)
          if [ "${#_condashare_m}" -ge "${#_condashare_m0}" ]; then
            _condashare_m0=$_condashare_m
            _condashare_fs=${_condashare_r#* - }
            _condashare_fs=${_condashare_fs%% *}
          fi ;;
      esac
    done < /proc/self/mountinfo
    unset _condashare_a _condashare_b _condashare_c _condashare_d _condashare_m _condashare_r _condashare_m0
  fi
fi
case "$_condashare_fs" in
  ext2|ext3|ext4|xfs|btrfs|zfs|tmpfs|overlay|squashfs|erofs|vfat|exfat|ntfs|ntfs3|f2fs|jfs|reiserfs|bcachefs|nilfs2|hfs|hfsplus|apfs|iso9660|udf|ramfs|devtmpfs)
    # The table only knows the path as written: a symlink on the way (/nfs/cpkgs -> /net/...)
    # may lead onto a share. lstat each component top down, stopping at the first link.
    _condashare_x=
    _condashare_y=${_condashare_f#/}
    while [ -n "$_condashare_y" ]; do
      _condashare_x="$_condashare_x/${_condashare_y%%/*}"
      case "$_condashare_y" in
        */*) _condashare_y=${_condashare_y#*/} ;;
        *) _condashare_y= ;;
      esac
      if [ -L "$_condashare_x" ]; then
        _condashare_fs=symlink
        break
      fi
    done
    unset _condashare_x _condashare_y ;;
esac
case "$_condashare_fs" in
  ext2|ext3|ext4|xfs|btrfs|zfs|tmpfs|overlay|squashfs|erofs|vfat|exfat|ntfs|ntfs3|f2fs|jfs|reiserfs|bcachefs|nilfs2|hfs|hfsplus|apfs|iso9660|udf|ramfs|devtmpfs)
    if [ -r "$_condashare_f" ]; then _condashare_st=ok; else _condashare_st=missing; fi ;;
  *)
    _condashare_st=
    if [ -n "${ZSH_VERSION-}" ]; then
      # zsh waits for a process substitution used as a command's redirection, so open it on a
      # free descriptor, read with a timeout, and close it.
      eval 'exec {_condashare_fd}< <(exec /bin/sh -c '\''[ -r "$1" ] && echo ok || echo missing'\'' sh "$_condashare_f" </dev/null 2>/dev/null)
        read -r -t "$_condashare_t" -u "$_condashare_fd" _condashare_st
        exec {_condashare_fd}<&-' 2>/dev/null
      unset _condashare_fd
    elif [ "${BASH_VERSINFO-0}" -ge 4 ] 2>/dev/null && case ":${SHELLOPTS-}:" in *:posix:*) false ;; *) true ;; esac; then
      # bash >= 4: read with a timeout from a freshly exec'd sh with its own streams.
      eval 'read -r -t "$_condashare_t" _condashare_st < <(exec /bin/sh -c '\''[ -r "$1" ] && echo ok || echo missing'\'' sh "$_condashare_f" </dev/null 2>/dev/null)' 2>/dev/null
    else
      # dash and others (no read -t): the probe and a timer race to write the first line.
      _condashare_st=$(/bin/sh -c '{ [ -r "$1" ] && echo ok || echo missing; } & { sleep "$2"; echo unresponsive; } &' sh "$_condashare_f" "$_condashare_t" </dev/null 2>/dev/null | { read -r _condashare_x; echo "$_condashare_x"; })
    fi
    [ -n "$_condashare_st" ] || _condashare_st=unresponsive ;;
esac
unset _condashare_fs
