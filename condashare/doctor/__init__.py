"""Diagnostics: checks that return findings (data), a registry, and a concurrent runner."""
