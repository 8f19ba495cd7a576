# condashare: may the shell touch the installation? (POSIX sh, shared by all dialects)
# In:  _condashare_pe  installation prefix, escaped as the kernel escapes mountinfo (\040 = space)
#      _condashare_f   the conda startup file to source
# Out: _condashare_st  local (on a known local filesystem, readable: source it directly),
#                      missing or "error WHY" (local, but not there or not readable),
#                      or empty: possibly remote, only a bounded probe child may touch it.
# The mount table (Linux: /proc/self/mountinfo, read with built-ins, never touches the share)
# gives the filesystem of the nearest mounted ancestor. Only a type on the allow-list
# (condashare.host.mounts.LOCAL_FSTYPES) with no symlink on the way counts as local: network, FUSE,
# automount, unknown types, and no table at all (macOS) get the probe.
_condashare_fs=
if $_condashare_bi [ -r /proc/self/mountinfo ]; then
  if $_condashare_bi [ -n "${BASH_VERSION-}${ZSH_VERSION-}" ]; then
    # Fast path: read the table in one go, then find the mount of the nearest ancestor (mount
    # point = field 5, always followed by the options rw/ro) with a pattern match per ancestor.
    _condashare_nl='
'
    # ($(<file): bash and zsh read the file themselves, no child, in large reads; the case
    # word unquoted: it is never split, and bash then skips quoting 2 KB per ancestor)
    _condashare_mi=$_condashare_nl$(</proc/self/mountinfo)
    _condashare_a=$_condashare_pe
    while :; do
      case $_condashare_mi in
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
          \break ;;
      esac
      $_condashare_bi [ -n "$_condashare_a" ] || \break
      _condashare_a=${_condashare_a%/*}
    done
    $_condashare_bi unset _condashare_mi _condashare_a _condashare_x _condashare_nl
  fi
  if $_condashare_bi [ -z "$_condashare_fs" ] || $_condashare_bi [ "$_condashare_fs" = "?" ]; then
    # Exact path (and dash's): every line, longest mount point that is an ancestor wins.
    _condashare_fs=
    _condashare_m0=
    while $_condashare_bi read -r _condashare_a _condashare_b _condashare_c _condashare_d _condashare_m _condashare_r; do
      _condashare_a=${_condashare_m%/} # (bash 5.2 fails to match "${m%/}"/* when that is empty)
      case "$_condashare_pe/" in
        "$_condashare_a"/*)
          if $_condashare_bi [ "${#_condashare_m}" -ge "${#_condashare_m0}" ]; then
            _condashare_m0=$_condashare_m
            _condashare_fs=${_condashare_r#* - }
            _condashare_fs=${_condashare_fs%% *}
          fi ;;
      esac
    done < /proc/self/mountinfo
    $_condashare_bi unset _condashare_a _condashare_b _condashare_c _condashare_d _condashare_m _condashare_r _condashare_m0
  fi
fi
_condashare_st=
case "$_condashare_fs" in
  __CONDASHARE_LOCAL_FS__)
    # The table only knows the path as written: a symlink on the way (/nfs/cpkgs -> /net/...)
    # may lead onto a share. lstat each component top down, stopping at the first link.
    _condashare_st=local
    # (as few commands per component as possible: each costs a shell start about 10 us)
    _condashare_x=
    _condashare_y=${_condashare_f#/}/
    while $_condashare_bi [ -n "$_condashare_y" ]; do
      _condashare_x=$_condashare_x/${_condashare_y%%/*}
      _condashare_y=${_condashare_y#*/}
      if $_condashare_bi [ -L "$_condashare_x" ]; then
        _condashare_st=
        \break
      fi
    done
    $_condashare_bi unset _condashare_x _condashare_y
    if $_condashare_bi [ "$_condashare_st" = local ] && $_condashare_bi [ ! -r "$_condashare_f" ]; then
      if $_condashare_bi [ -e "$_condashare_f" ]; then _condashare_st='error permission denied'; else _condashare_st=missing; fi
    fi ;;
esac
$_condashare_bi unset _condashare_fs
