# condashare: the verdict in words (POSIX sh, shared by all dialects)
# In:  _condashare_st  ok | missing | "error WHY" | anything else: no answer in time
# Out: _condashare_st  ok | missing | error | unresponsive, and _condashare_why, the phrase
#      for "condashare: shared conda PREFIX <phrase>; conda is not set up in this shell"
case "$_condashare_st" in
  ok) _condashare_why= ;;
  missing) _condashare_why="is missing (no ${_condashare_f##*/})" ;;
  'error '*)
    _condashare_why="failed (${_condashare_st#error })"
    _condashare_st=error ;;
  *)
    _condashare_why="is unresponsive (no answer within $_condashare_t s)"
    _condashare_st=unresponsive ;;
esac
