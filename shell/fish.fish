if not set -q _condashare_done
  set -g _condashare_done 1
  set -l _condashare_p
  set -lx _CONDASHARE_PE
  set -l _condashare_u (command uname -sm 2>/dev/null)
  switch "$_condashare_u"
__CONDASHARE_CASES__
  end
  if test -n "$_condashare_p"
    set -lx _CONDASHARE_F "$_condashare_p/etc/fish/conf.d/conda.fish"
    set -lx _CONDASHARE_T __CONDASHARE_TIMEOUT__
    set -l _condashare_r (/bin/sh -c __CONDASHARE_CHECK__ </dev/null)
    set -q _condashare_r[2]; or set _condashare_r unresponsive 'is unresponsive'
    switch "$_condashare_r[1]"
      case local
        set -e CONDASHARE_UNAVAILABLE
        builtin source "$_CONDASHARE_F"
      case ok
        # the probe child read conda.fish: source what it read, not the file on the share
        set -e CONDASHARE_UNAVAILABLE
        set -e _condashare_r[1]
        string join \n -- $_condashare_r | builtin source
      case '*'
        set -gx CONDASHARE_UNAVAILABLE 1
        if status is-interactive
          builtin printf 'condashare: shared conda %s %s; conda is not set up in this shell\n' "$_condashare_p" "$_condashare_r[2]" >&2
        end
    end
  else if status is-interactive
    builtin printf 'condashare: no shared conda installation for %s\n' "$_condashare_u" >&2
  end
end
