#%Module1.0
## condashare modules: written by 'condashare modules'; run it again to update, or
## 'condashare modules --reverse' to remove it. Changes made here are lost. See docs/modules.md.
## release: __CONDASHARE_RELEASE__
set condashare_release "__CONDASHARE_RELEASE__"
set condashare_timeout "__CONDASHARE_TIMEOUT__"
module-whatis "__CONDASHARE_WHATIS__"
proc ModulesHelp {} {
  puts stderr "__CONDASHARE_HELP__"
}
family condashare

# Which installation serves this machine (uname -sm, the shell block's case) and, on load, a
# bounded read of the env: all of it in /bin/sh, so a dead share costs the timeout, not a hang.
set condashare_helper {
__CONDASHARE_PROBE__
}

set condashare_mode [module-info mode]
# (help goes on to the end: Environment Modules calls ModulesHelp only after a whole evaluation)
if {$condashare_mode eq "whatis"} {
  return
}
set condashare_what [expr {$condashare_mode eq "load" ? "load" : "find"}]
# conda's shell integration for the shell loading this, below the installation's prefix.
set condashare_shell [module-info shell]
switch -- $condashare_shell {
  bash - zsh { set condashare_conda_file etc/profile.d/conda.sh }
  tcsh - csh { set condashare_conda_file etc/profile.d/conda.csh }
  fish { set condashare_conda_file etc/fish/conf.d/conda.fish }
  default { set condashare_conda_file "" }
}
if {[catch {exec /bin/sh -c $condashare_helper condashare-module $condashare_release \
    $condashare_timeout $condashare_what $condashare_conda_file </dev/null 2>/dev/null}\
    condashare_line]} {
  set condashare_line ""
}
set condashare_answer [split [lindex [split $condashare_line "\n"] 0] "\t"]
set condashare_status [lindex $condashare_answer 0]
set condashare_prefix [lindex $condashare_answer 1]
set condashare_name "condashare: [module-info name]"
if {$condashare_status eq "none" || $condashare_prefix eq ""} {
  if {$condashare_mode eq "load"} {
    error "$condashare_name: no shared installation for this machine ($condashare_prefix) in\
      the site file; run 'condashare modules' again, or ask your administrators"
  }
  return
}
set condashare_env "$condashare_prefix/envs/$condashare_release"
if {$condashare_mode eq "load"} {
  switch -- $condashare_status {
    ok {}
    missing {
      error "$condashare_name: release $condashare_release is not installed for this machine:\
        $condashare_env has no conda-meta/history; run 'condashare modules' to refresh the list"
    }
    unreadable {
      error "$condashare_name: cannot read $condashare_env (permissions?)"
    }
    default {
      error "$condashare_name: the share holding $condashare_prefix did not answer within\
        $condashare_timeout s (server down or network trouble); try again later,\
        'condashare doctor mount' tells more"
    }
  }
}

# Which activate.d scripts ran, and whether conda's file was sourced, is kept for the unload,
# which must not touch the share.
if {$condashare_mode eq "load"} {
  set condashare_ran [lrange $condashare_answer 2 end]
} elseif {$condashare_mode in {unload remove switch}\
    && [info exists ::env(__CONDASHARE_HOOKS)]} {
  # Help, display and refresh run no script: they must not touch the share. (A refresh, in the
  # module init of every new shell while this is loaded, would re-run them without a timeout;
  # such a shell gets no conda function from the module, as a child shell never does.)
  set condashare_ran [split $::env(__CONDASHARE_HOOKS) ":"]
} else {
  set condashare_ran {}
}
set condashare_hooks {}
set condashare_conda_sh 0
foreach condashare_h $condashare_ran {
  if {$condashare_h eq "+conda"} {
    set condashare_conda_sh 1
  } elseif {[regexp {^[A-Za-z0-9._+-]+\.sh$} $condashare_h]} {
    lappend condashare_hooks $condashare_h
  }
}
set condashare_kept $condashare_hooks
if {$condashare_conda_sh} {
  lappend condashare_kept "+conda"
}
if {[llength $condashare_kept] > 0} {
  pushenv __CONDASHARE_HOOKS [join $condashare_kept ":"]
}

# conda's own shell function (conda activate, conda deactivate), first: what it sets is then
# overridden by the activation below. bash, zsh: the function from conda.sh; tcsh: the alias
# from conda.csh; fish: the functions from conda.fish. source-sh records what the file defined
# and unload undoes exactly that.
set condashare_sourced [expr {$condashare_conda_sh && $condashare_conda_file ne ""}]
if {$condashare_sourced} {
  source-sh $condashare_shell "$condashare_prefix/$condashare_conda_file"
}

# What 'conda activate' of the release sets; pushenv restores each old value on unload.
prepend-path PATH "$condashare_env/bin"
pushenv CONDA_PREFIX $condashare_env
pushenv CONDA_DEFAULT_ENV $condashare_release
pushenv CONDA_SHLVL 1
pushenv CONDA_PROMPT_MODIFIER "($condashare_release) "
if {!$condashare_sourced} {
  # (else conda's file set them, and source-sh undoes that: no second record)
  pushenv CONDA_EXE "$condashare_prefix/bin/conda"
  pushenv CONDA_PYTHON_EXE "$condashare_prefix/bin/python"
}

# The env's activate.d scripts, through source-sh (undone on unload from what it recorded).
foreach condashare_h $condashare_hooks {
  source-sh bash "$condashare_env/etc/conda/activate.d/$condashare_h"
}
