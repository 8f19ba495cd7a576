# Interactive means prompt2: tcsh sets it only in interactive shells, while many .tcshrc files
# set prompt unconditionally (then $?prompt is true in `tcsh -c cmd` too). A csh that is not
# tcsh has no prompt2 and falls back to $?prompt.
# The /bin/sh helper (shell/helper.sh) chooses the installation (shell/choose.sh: the same
# choice as the sh block, match rules included) and checks it; its answer names the chosen
# installation by number, and the prefix comes from this block's own arms.
if ( ! $?_condashare_done ) then
  set _condashare_done = 1
  setenv _CONDASHARE_T __CONDASHARE_TIMEOUT__
  setenv _CONDASHARE_SH __CONDASHARE_CHECK__
  set _condashare_r = ( `/bin/sh -c 'eval "$_CONDASHARE_SH"' < /dev/null` )
  unsetenv _CONDASHARE_T _CONDASHARE_SH
  if ( $#_condashare_r < 3 ) set _condashare_r = ( unresponsive 0 is unresponsive )
  set _condashare_p = ""
  switch ( "$_condashare_r[2]" )
__CONDASHARE_CASES__
  endsw
  if ( "$_condashare_r[1]" == none ) then
    if ( $?prompt2 || ( $?prompt && ! $?tcsh ) ) then
      echo "condashare: $_condashare_r[3-]" >& /dev/stderr
    endif
  else if ( "$_condashare_r[1]" == local || "$_condashare_r[1]" == ok ) then
    unsetenv CONDASHARE_UNAVAILABLE
    if ( "$_condashare_r[3]" == "-" ) then
      source "${_condashare_p}/etc/profile.d/conda.csh"
    else
      source "$_condashare_r[3]"
    endif
  else
    setenv CONDASHARE_UNAVAILABLE 1
    if ( $?prompt2 || ( $?prompt && ! $?tcsh ) ) then
      echo "condashare: shared conda ${_condashare_p} $_condashare_r[3-]; conda is not set up in this shell" >& /dev/stderr
    endif
  endif
  unset _condashare_r _condashare_p
endif
