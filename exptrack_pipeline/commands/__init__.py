"""Sub-command groups of the `exptrack` CLI beyond run/results/summary/validate.

Each module exposes `register(subparsers) -> dict[str, Callable[[argparse.Namespace, Settings], int]]`:
it adds its sub-parsers and returns a handler per command name.
"""
