"""Sub-command groups of the `exptrack` CLI: pipeline (run), results (results, summary, validate), monitoring,
lifecycle; tables.py and progress.py format what they print.

Each module exposes `register(subparsers) -> dict[str, Callable[[argparse.Namespace, Settings], int]]`:
it adds its sub-parsers and returns a handler per command name.
"""
