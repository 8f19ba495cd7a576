# Interactive means prompt2: tcsh sets it only in interactive shells, while many .tcshrc files
# set prompt unconditionally (then $?prompt is true in `tcsh -c cmd` too). A csh that is not
# tcsh has no prompt2 and falls back to $?prompt.
if ( ! $?_condashare_done ) then
  set _condashare_done = 1
  set _condashare_p = ""
  set _condashare_u = "`\uname -sm`"
  switch ( "$_condashare_u" )
__CONDASHARE_CASES__
  endsw
  if ( "$_condashare_p" != "" ) then
    setenv _CONDASHARE_F "${_condashare_p}/etc/profile.d/conda.csh"
    setenv _CONDASHARE_T __CONDASHARE_TIMEOUT__
    setenv _CONDASHARE_SH __CONDASHARE_CHECK__
    set _condashare_r = ( `/bin/sh -c 'eval "$_CONDASHARE_SH"' < /dev/null` )
    if ( $#_condashare_r < 2 ) set _condashare_r = ( unresponsive is unresponsive )
    if ( "$_condashare_r[1]" == local || "$_condashare_r[1]" == ok ) then
      unsetenv CONDASHARE_UNAVAILABLE
      if ( "$_condashare_r[2]" == "-" ) then
        source "$_CONDASHARE_F"
      else
        source "$_condashare_r[2]"
      endif
    else
      setenv CONDASHARE_UNAVAILABLE 1
      if ( $?prompt2 || ( $?prompt && ! $?tcsh ) ) then
        echo "condashare: shared conda ${_condashare_p} $_condashare_r[2-]; conda is not set up in this shell" >& /dev/stderr
      endif
    endif
    unsetenv _CONDASHARE_F _CONDASHARE_T _CONDASHARE_SH _CONDASHARE_PE
    unset _condashare_r
  else
    if ( $?prompt2 || ( $?prompt && ! $?tcsh ) ) then
      echo "condashare: no shared conda installation for ${_condashare_u}" >& /dev/stderr
    endif
  endif
  unset _condashare_p _condashare_u
endif
