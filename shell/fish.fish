if not set -q _condashare_done
  set -g _condashare_done 1
  set -l _condashare_p
  set -lx _CONDASHARE_PE
  set -l _condashare_u (uname -sm 2>/dev/null)
  switch "$_condashare_u"
__CONDASHARE_CASES__
  end
  if test -n "$_condashare_p"
    set -lx _CONDASHARE_F "$_condashare_p/etc/fish/conf.d/conda.fish"
    set -lx _CONDASHARE_T __CONDASHARE_TIMEOUT__
    set -l _condashare_st (/bin/sh -c __CONDASHARE_CHECK__ </dev/null)
    if test "$_condashare_st" = ok
      set -e CONDASHARE_UNAVAILABLE
      source "$_CONDASHARE_F"
    else
      set -gx CONDASHARE_UNAVAILABLE 1
      if status is-interactive
        printf 'condashare: shared conda %s is %s; conda is not set up in this shell\n' "$_condashare_p" "$_condashare_st" >&2
      end
    end
  else if status is-interactive
    printf 'condashare: no shared conda installation for %s\n' "$_condashare_u" >&2
  end
end
