"""Start a condashare child program: ``python -I -S boot.py ROOT MODULE ARGS...``.

Run by its file path, so it works in an interpreter without site-packages: it appends ROOT
(the directory holding the ``condashare`` package) to ``sys.path``, after the standard
library, imports MODULE and calls its ``main()`` with ``sys.argv`` set to ``[MODULE, *ARGS]``.
Importing (rather than running a file) lets the program's compiled ``.pyc`` be reused.
"""

from __future__ import annotations

import importlib
import sys


def main() -> None:
    root, name = sys.argv[1], sys.argv[2]
    sys.path.append(root)
    sys.argv = [name, *sys.argv[3:]]
    importlib.import_module(name).main()


if __name__ == "__main__":
    main()
