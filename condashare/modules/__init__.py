"""``condashare modules``: one environment modulefile per shared release (Lua or Tcl).

:mod:`.render` makes the bytes of one modulefile; :mod:`.sync` lists the releases, compares
them with a modulefile directory and writes or removes files.
"""
