# The /bin/sh helper (shell/helper.sh) chooses the installation (shell/choose.sh: the same
# choice as the sh block, match rules included) and checks it; its answer names the chosen
# installation by number, and the prefix comes from this block's own arms.
if not set -q _condashare_done
  set -g _condashare_done 1
  set -lx _CONDASHARE_T __CONDASHARE_TIMEOUT__
  set -l _condashare_r (/bin/sh -c __CONDASHARE_CHECK__ </dev/null)
  set -e _CONDASHARE_T
  set -q _condashare_r[3]; or set _condashare_r unresponsive 0 'is unresponsive'
  set -l _condashare_p
  switch "$_condashare_r[2]"
__CONDASHARE_CASES__
  end
  switch "$_condashare_r[1]"
    case none
      if status is-interactive
        builtin printf 'condashare: %s\n' "$_condashare_r[3]" >&2
      end
    case local
      set -e CONDASHARE_UNAVAILABLE
      builtin source "$_condashare_p/etc/fish/conf.d/conda.fish"
    case ok
      # the probe child read conda.fish: source what it read, not the file on the share
      set -e CONDASHARE_UNAVAILABLE
      set -e _condashare_r[1..2]
      string join \n -- $_condashare_r | builtin source
    case '*'
      set -gx CONDASHARE_UNAVAILABLE 1
      if status is-interactive
        builtin printf 'condashare: shared conda %s %s; conda is not set up in this shell\n' "$_condashare_p" "$_condashare_r[3]" >&2
      end
  end
end
