"""One module per CLI subcommand; see :mod:`secengine.cli`."""
