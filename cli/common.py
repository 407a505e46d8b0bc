"""What every command module shares: the Typer app, the common options, the one place that
prints errors, and the printing of Results.

Errors: the library raises LossdbError (message + hint, in the words of a Python caller, with
the `parameter` at fault); `errors()` below is the only place that prints them, as one line on
stderr naming the command's own flag for that parameter, and picks the exit code. stdout is
data. LOSSDB_DEBUG=1 prints the traceback with its whole cause chain first.
"""
from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import traceback
from contextlib import contextmanager
from typing import Annotated, Optional

import typer

from lossdb.errors import LossdbError, UsageError, first_line
from lossdb.queries import db as store_db
from lossdb.store import Store
from lossdb.text import counted

from . import format as fmt

app = typer.Typer(
    name="lossdb",
    help="Find where a token-classification model fails and where its dataset's labels are wrong.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

DbOption = Annotated[Optional[str], typer.Option("--db", help="Store file [default: $LOSSDB_DB, else ./lossdb.duckdb].", show_default=False)]
RunOption = Annotated[Optional[str], typer.Option("--run", help="Run name [default: the newest complete run].", show_default=False)]
FormatOption = Annotated[str, typer.Option("--format", "-f", help="table, json, csv or markdown.")]
CountOption = Annotated[str, typer.Option("--n", "-n", metavar="N", help="How many sequences.")]
LabelsOption = Annotated[str, typer.Option("--labels", help="Label version to judge against [default: gold, the source's labels].", show_default=False)]
ModeOption = Annotated[str, typer.Option("--mode", help="Entity decoding: default (seqeval's default, conlleval's lenient chunks) or strict (seqeval's strict, for --scheme).")]
SchemeOption = Annotated[Optional[str], typer.Option("--scheme", help="With --mode strict: the tags' scheme, IOB1, IOB2, IOE1, IOE2, IOBES (BIOES) or BILOU [default: IOB2].", show_default=False)]
WidthOption = Annotated[Optional[int], typer.Option(help="Elide tables wider than this [default: the terminal's; 0: never].", show_default=False)]
# Every command that writes a file the user names refuses to replace an existing one without it.
ForceOption = Annotated[bool, typer.Option("--force", help="Replace the output file if it exists.")]


def debugging() -> bool:
    return bool(os.environ.get("LOSSDB_DEBUG"))


def flag_for(parameter: str | None, flags: dict[str, str | None] | None = None) -> str | None:
    """The command's option for a library parameter: `flags` first (where the two are named
    differently, or None for an argument), else the option of the same name (`bins` -> --bins,
    `seq_id` -> --seq-id), where `path` is the store's (lossdb.connect(path)): --db."""
    if not parameter:
        return None
    if flags and parameter in flags:
        return flags[parameter]
    if parameter == "path":
        return "--db"
    return "--" + parameter.replace("_", "-")


@contextmanager
def interrupts(sigterm: bool = False):
    """Ctrl-C (and with `sigterm`, `kill PID`) stops a command as a KeyboardInterrupt: every
    transaction rolls back, staging files go. Yields a function saying whether one arrived,
    because a library may catch the KeyboardInterrupt and raise its own error instead (DuckDB's
    "Query interrupted", a Rust extension's PanicException) and errors() must still say
    "interrupted". One that lands in a finalizer (__del__), which Python would print and drop,
    is sent again a moment later, to land in the command's own code.

    DuckDB alone misses some: a query whose one long task a worker thread took ran on to its
    end in 2 of 8 tries (the main thread, which polls for Ctrl-C, only waits for it). So the
    signal is also written to a pipe (signal.set_wakeup_fd), and a thread reading it stops the
    process's DuckDB queries at once; a ROLLBACK it cuts short is done by closing the
    connection, which every command does on its way out."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread gets signals
        yield lambda: False
        return
    state = {"arrived": 0, "running": True}

    def interrupt(signum, frame):
        state["arrived"] = signum
        raise KeyboardInterrupt

    def send_again():
        if state["running"]:
            signal.pthread_kill(threading.main_thread().ident, state["arrived"] or signal.SIGINT)

    def unraisable(report):
        if isinstance(report.exc_value, KeyboardInterrupt):
            threading.Timer(0.05, send_again).start()
        else:
            previous_hook(report)

    numbers = (signal.SIGINT, signal.SIGTERM) if sigterm else (signal.SIGINT,)
    previous = {number: signal.signal(number, interrupt) for number in numbers
                if signal.getsignal(number) is not signal.SIG_IGN}  # nohup, `cmd &` in a script: left ignored
    previous_hook, sys.unraisablehook = sys.unraisablehook, unraisable
    wakeup, watcher = _watch_for_signals(state) if previous else (None, None)
    try:
        yield lambda: bool(state["arrived"])
    finally:
        state["running"] = False
        if wakeup is not None:
            signal.set_wakeup_fd(wakeup)
            watcher.stop()
        sys.unraisablehook = previous_hook
        for number, handler in previous.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)


class _Watcher(threading.Thread):
    """Reads the signal numbers Python's C handler writes to a pipe the moment a signal
    arrives, and stops the running DuckDB queries for each."""

    def __init__(self, state: dict):
        super().__init__(name="lossdb-interrupts", daemon=True)
        self.state = state
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.write_fd, False)  # set_wakeup_fd requires it

    def run(self) -> None:
        try:
            while os.read(self.read_fd, 64):  # b'' once stop() closed the other end
                if self.state["running"]:
                    store_db.interrupt_queries()
        finally:
            os.close(self.read_fd)

    def stop(self) -> None:
        os.close(self.write_fd)


def _watch_for_signals(state: dict) -> tuple[int, _Watcher]:
    """Start the watcher; returns the wakeup fd it replaced (to restore) and the watcher."""
    watcher = _Watcher(state)
    previous_fd = signal.set_wakeup_fd(watcher.write_fd, warn_on_full_buffer=False)
    watcher.start()
    return previous_fd, watcher


@contextmanager
def errors(flags: dict[str, str] | None = None, *, sigterm: bool = False):
    """Turn library errors into one line on stderr and a non-zero exit; never a traceback
    (unless LOSSDB_DEBUG is set). `flags`: {library parameter: this command's option} where
    their names differ (import-labels' --as is the library's name). `sigterm`: `kill PID` stops
    the command as Ctrl-C does (ingest, whose staging files must go); elsewhere it ends the
    process at once, which a DuckDB transaction survives."""
    saved = store_db.saved_changes()
    with interrupts(sigterm) as interrupted:
        try:
            yield
        except (typer.Exit, typer.Abort, SystemExit, GeneratorExit):
            raise
        except BaseException as e:  # a Rust extension's panic is a BaseException too
            if isinstance(e, KeyboardInterrupt) or interrupted():
                # every write is one transaction: it either committed (an interrupt right after,
                # or between the statements of `sql --write`) or left the store as it was
                after = store_db.saved_changes() > saved
                typer.echo("lossdb: interrupted after saving its changes to the store" if after else
                           "lossdb: interrupted; the store is unchanged", err=True)
                raise typer.Exit(130) from None
            if debugging():
                if not isinstance(e, LossdbError):
                    raise
                traceback.print_exception(e, file=sys.stderr)
            typer.echo(f"lossdb: {error_line(e, flags)}", err=True)
            raise typer.Exit(e.exit_code if isinstance(e, LossdbError) else 70) from e


def error_line(e: BaseException, flags: dict[str, str] | None = None) -> str:
    """A LossdbError as "error: MESSAGE; HINT (--flag)"; anything else is a bug in lossdb or a
    library: said plainly, the traceback kept for LOSSDB_DEBUG."""
    if not isinstance(e, LossdbError):
        return (f"internal error: {type(e).__name__}: {first_line(e) if str(e).strip() else ''} "
                "(set LOSSDB_DEBUG=1 for the traceback)")
    text = e.cli_line()
    flag = flag_for(e.parameter, flags)
    if flag and not ((e.cli_message or e.cli_hint) and flag in text):  # words of the CLI's own may name it already
        text += f" ({flag})"
    return "error: " + text.replace("\r", "\\r").replace("\n", "\\n")  # a name with a newline stays one line


@contextmanager
def reading(db: str | None, format: str, flags: dict[str, str | None] | None = None):
    """`with reading(db, format) as (store, out):` the body of a command that prints a table:
    errors() around it, --format checked, the store at --db opened read-only."""
    with errors(flags):
        out = check_format(format)
        yield open_store(db), out


def note_truncated(store: Store, runs) -> None:
    """A note for each of `runs` (an entry None: the newest; `runs` None: every run) that
    truncated sequences: entity figures count only the words a run scored, as the model saw them
    (so do seqeval's over a Trainer's aligned predictions), which a reader comparing runs should know."""
    records = store.runs().records()
    by_id = {r["run_id"]: r for r in records}
    for run in dict.fromkeys(runs if runs is not None else by_id):
        record = by_id.get(run) if run is not None else (records[0] if records else None)
        if record and record["n_truncated"]:
            typer.echo(f"lossdb: note: run '{record['run_id']}' truncated {counted(record['n_truncated'], 'sequence')} "
                       "(--overflow truncate): words past the cut were not scored and count in no entity figure; "
                       "--overflow window scores every word", err=True)


def parse_count(text: str, option: str = "--n") -> int:
    try:
        value = int(text)
    except (TypeError, ValueError) as e:
        raise UsageError(f"{option} must be a whole number, not {text!r}", f"e.g. {option} 3") from e
    if value < 1:
        raise UsageError(f"{option} must be at least 1, not {value}", f"e.g. {option} 3")
    if value >= 2**63:
        raise UsageError(f"{option} {value} is too large", f"e.g. {option} 3")
    return value


def check_format(value: str) -> str:
    if value not in fmt.FORMATS:
        raise UsageError(f"unknown --format {value!r}", f"choose one of {', '.join(fmt.FORMATS)}")
    return value


def terminal_width(width: int | None) -> int | None:
    if width is not None and width < 0:
        raise UsageError(f"--width must be 0 or more, not {width}", "e.g. --width 120 (0: never elide)")
    if width is not None:
        return width or None  # --width 0: never elide
    return shutil.get_terminal_size((120, 24)).columns


def echo(text: str) -> None:
    # color=True: click would otherwise strip what looks like ANSI codes when stdout is not a
    # terminal, changing CSV data; tables come here with control characters already escaped.
    typer.echo(text, color=True)


def open_store(db: str | None, *, read_only: bool = True) -> Store:
    """The store at --db (default $LOSSDB_DB, else ./lossdb.duckdb), read-only unless asked;
    its tables come back as Results, which print without pandas."""
    if db is not None and not db.strip():  # (Store would take '' for the default store)
        raise UsageError("--db is empty", "name a store file, or leave out --db for the default")
    return Store(db, read_only=read_only, frames=False)


def print_result(result, out: str) -> None:
    """A query Result as a table, JSON, CSV or Markdown."""
    echo(fmt.result(result.columns, result.rows, out))


def print_samples(records: list[dict], out: str, width: int | None, version: str = "gold") -> None:
    """Sequences as `top` prints them: the book's tables (losses coloured on a terminal),
    or JSON / CSV / Markdown."""
    if out == "json":
        echo(fmt.top_json(records))
    elif out == "csv":
        echo(fmt.top_csv(records))
    elif out == "markdown":
        echo(fmt.top_markdown(records, version))
    elif records:
        cols = terminal_width(width)
        colour = fmt.terminal_colour(records) if sys.stdout.isatty() or os.environ.get("FORCE_COLOR") else None
        text = "\n\n".join(f"{fmt.sample_heading(r, version)}\n{fmt.sample_table(r, cols, colour=colour)}"
                           for r in records)
        typer.echo(text, color=True if colour else None)
