"""How a one-shot child program answers: one JSON line on stdout, then an immediate exit.

The answer has ``status`` (ok | missing | error; the parent adds unresponsive when none comes),
``latency`` (seconds since the program started), and for failures ``errno``, ``errname`` and
``error``; anything else is the program's data. Exiting with ``os._exit`` skips interpreter
clean-up, which could touch the share again.
"""

from __future__ import annotations

import errno
import json
import os
import sys
import time

TYPE_CHECKING = False  # see the package docstring: typing is slow to import
if TYPE_CHECKING:
    from typing import Any, NoReturn

STARTED = time.monotonic()


def answer(**fields: Any) -> NoReturn:
    """Print the answer and exit."""
    fields["latency"] = time.monotonic() - STARTED
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()
    os._exit(0)


def failure(exc: OSError, **fields: Any) -> dict[str, Any]:
    """The answer fields for an OSError: ``missing`` for a path that is not there, else error."""
    number = exc.errno or 0
    return {
        "status": "missing" if isinstance(exc, FileNotFoundError) else "error",
        "errno": number,
        "error": exc.strerror or str(exc) or "not found",
        "errname": errno.errorcode.get(number, ""),
        **fields,
    }


def fail(exc: OSError, **fields: Any) -> NoReturn:
    """Answer with :func:`failure` and exit."""
    answer(**failure(exc, **fields))
