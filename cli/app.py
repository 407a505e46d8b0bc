"""The `lossdb` command: `main()` runs the Typer app with every command registered.

The commands live by topic in commands.py (ingest, top, runs, sql, ...), analysis.py,
labels.py, dynamics.py and report.py; each parses options, calls the library (a lossdb.Store,
or lossdb.ingest for scoring) and formats what it returns (common.py, format.py).
"""
from __future__ import annotations

import sys
from typing import Annotated

import typer
from typer.main import get_command

from . import analysis, commands, dynamics, labels, report  # noqa: F401  (importing a module registers its commands)
from .common import app

__all__ = ["app", "main"]


def _show_version(value: bool) -> None:
    if value:
        from lossdb.queries import db
        from lossdb.version import __version__

        typer.echo(f"lossdb {__version__} ({db.schema_version()})")
        raise typer.Exit()


@app.callback()
def _lossdb(version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                                  help="Show lossdb's version and its store schema, and stop.")] = False
            ) -> None:
    pass  # the options of `lossdb` itself; the help text is the app's (common.py)


# Typer 0.26 carries its own copy of click, earlier versions use click itself: the exceptions
# come from wherever Typer's own BadParameter does.
_click = sys.modules[typer.BadParameter.__module__]
_NO_ARGS = getattr(_click, "NoArgsIsHelpError", ())  # click < 8.2 exits 0 with the help instead


def main() -> int:
    """Run the command line; returns the exit status. A mistyped command line (an unknown
    option, a missing value) is one line, as every other error is, not click's usage block."""
    try:
        return get_command(app).main(prog_name="lossdb", standalone_mode=False) or 0
    except _NO_ARGS as e:  # `lossdb` alone: the help
        e.show()
        return e.exit_code
    except _click.UsageError as e:
        where = e.ctx.command_path if e.ctx is not None else "lossdb"
        typer.echo(f"lossdb: error: {usage_message(e, where)}", err=True)
        return e.exit_code
    except _click.ClickException as e:
        typer.echo(f"lossdb: error: {one_line(e.format_message())}", err=True)
        return e.exit_code
    except _click.Abort:
        typer.echo("lossdb: aborted", err=True)
        return 1


def usage_message(e, where: str) -> str:
    name = getattr(e, "option_name", "") or ""
    if isinstance(e, _click.NoSuchOption) and any(c.isspace() for c in name):
        # No option has a space in its name: this is an argument that begins with '-', most often
        # SQL that begins with a `--` comment, which click reads as an option.
        shown = one_line(name)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        return (f"'{shown}' begins with '-', so it is read as an option; put `--` before it, after "
                f"every option: {where} [OPTIONS] -- \"YOUR TEXT\"")
    return f"{one_line(e.format_message())}; see `{where} --help`"


def one_line(text: str) -> str:
    return " ".join(text.split()).rstrip(".")


if __name__ == "__main__":  # python -m lossdb.cli.app
    sys.exit(main())
