"""The package version (one place: the top-level package, the CLI and the reports read it)."""

__version__ = "0.1.0"
