"""Shared environments in conda's view: status, ``on``/``off`` with exact restore, the releases.

- :mod:`.setup`: the host, site, installation and conda context every command here needs;
- :mod:`.status`: ``shared status`` (effective dirs with provenance, and what to watch);
- :mod:`.toggle`: ``shared on``/``off``, written through :mod:`condashare.files`;
- :mod:`.memory`: what ``off`` removed (and ``on`` added), so the reverse gives the bytes back;
- :mod:`.releases`: ``condashare envs``, the releases of this host's installation.

Shared home (one home for Linux and macOS): condashare never writes one OS's installation path
into a file both OSes read. Users of the shared conda already see its ``<root>/envs`` (conda
always appends it); users of their own conda get the entry in their own conda's root
``.condarc``, which is on conda's search path and exists once per OS. See docs/shared-envs.md.
Nothing here prints.
"""

from __future__ import annotations
