"""Everything in condashare that may touch a share: bounded, abandonable child processes.

A process stuck in ``stat`` or ``open`` on a hung NFS or FUSE mount cannot be killed (it sits in
D state until the server answers), a thread stuck there keeps the interpreter from exiting, and
``subprocess.run(timeout=)`` waits for the child after killing it. So condashare never touches a
possibly-remote path itself: a child does, under a deadline; a late child is killed and
abandoned, never waited for, and collected later without blocking.

- :mod:`.children`: the one start policy per OS (fork or spawn) and the registry of abandoned
  children (``abandon``, non-blocking ``reap``).
- :mod:`.paths`: path operations (stat, head, listdir, envs, subdir, appendable) in a child,
  and the doctor's scan programs, answering a typed :class:`~.paths.ProbeResult`.
- :mod:`.calls`: a Python function in a child under a deadline (the doctor's checks and fixes).
- :mod:`.commands`: a command (argv) under a deadline (the doctor's shell start-ups).
- :mod:`.workers`: the verify engine's long-lived worker processes.
- :mod:`.programs`: the child programs themselves, standard library only.

Nothing here is imported at package level: child programs import this package on start-up and
must stay fast.
"""
