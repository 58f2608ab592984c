"""One module per ``portkit`` subcommand; each defines ``register(subparsers)``."""
