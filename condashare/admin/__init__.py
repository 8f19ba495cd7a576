"""Release tooling for site admins: publish one release env, audit a whole installation.

The library returns data (plans, findings, what was applied); ``condashare.cli.admin`` prints.
Every touch of the tree runs in bounded child processes (:mod:`condashare.admin.tree`), so a
dead share makes a command report "unresponsive" instead of hanging it. Nothing here changes
owners: a repair only removes write bits others should not have, adds the read bits users need,
clears setuid/setgid on files and writes the CEP 22 ``conda-meta/frozen`` marker.
"""

from __future__ import annotations
