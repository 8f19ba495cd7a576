"""The built-in checks, one module per group; :mod:`condashare.doctor.registry` lists them."""
