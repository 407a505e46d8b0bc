"""The `lossdb` command: `main()` runs the Typer app with every command registered.

The commands live by topic in commands.py (ingest, top, runs, sql, ...), analysis.py,
labels.py, dynamics.py and report.py; each parses options, calls the library (a lossdb.Store,
or lossdb.ingest for scoring) and formats what it returns (common.py, format.py).
"""
from __future__ import annotations

import sys

from . import analysis, commands, dynamics, labels, report  # noqa: F401  (importing a module registers its commands)
from .common import app

__all__ = ["app", "main"]


def main() -> None:
    app()


if __name__ == "__main__":  # python -m lossdb.cli.app
    sys.exit(main())
