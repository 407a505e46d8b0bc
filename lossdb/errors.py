"""Every error type lossdb raises for things a user can fix.

Every LossdbError carries a message (what is wrong) and a hint (what to do), both in the words
of the Python caller: a parameter is named as the function names it (``bins``, ``name``), and
``parameter`` says which one, so the CLI can name its own flag for it when it prints the error
(one line, with the error's exit code). The cause (a DuckDB or transformers error) is kept as
``__cause__``; ``LOSSDB_DEBUG=1`` makes the CLI show the whole chain.
"""
from __future__ import annotations


def first_line(error: BaseException) -> str:
    """The first line of an exception's text, else its type name: what a one-line error quotes
    of a library's (often multi-line) message."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def joined(message: str, hint: str) -> str:
    """"MESSAGE; HINT", as every error prints."""
    if not hint:
        return message
    # a library's message quoted at the end often ends a sentence: "...directory.; hint" reads badly
    message = message[:-1] if message[-1:] in ".!" and not message.endswith("..") else message
    return f"{message}; {hint}"


class LossdbError(Exception):
    """A problem with the user's input or environment, with the fix in ``hint``.

    ``cli_message`` / ``cli_hint``: the same in the command line's words, where naming its flags
    says more than the parameter's flag the CLI appends (``pass --force to replace it`` for
    ``force=True``); the CLI prints them in place of message / hint."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "", *, parameter: str | None = None,
                 cli_message: str | None = None, cli_hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.parameter = parameter  # the caller's argument at fault, if one is
        self.cli_message = cli_message
        self.cli_hint = cli_hint

    def __str__(self) -> str:
        return joined(self.message, self.hint)

    def cli_line(self) -> str:
        """The error in the command line's words (cli_message / cli_hint where given)."""
        return joined(self.cli_message or self.message, self.cli_hint or self.hint)


class UsageError(LossdbError):
    """A bad option value or argument."""

    exit_code = 2


class InputError(LossdbError):
    """A data file, model or annotation file that cannot be used as given."""

    exit_code = 3


class LabelImportError(InputError):
    """An import of labels refused whole; `problems` lists every problem found (sequence, span, reason)."""

    def __init__(self, message: str, hint: str, problems: list[str], *, parameter: str | None = None, **cli) -> None:
        super().__init__(message, hint, parameter=parameter, **cli)
        self.problems = problems


class StoreError(LossdbError):
    """The database cannot be opened, is busy, or lacks what was asked for."""

    exit_code = 4


class QueryError(LossdbError):
    """SQL that DuckDB refused."""

    exit_code = 5


class EngineError(LossdbError):
    """The engine that runs the scoring (a Ray cluster) failed or cannot be reached."""

    exit_code = 6


class OutputError(LossdbError):
    """A file lossdb was asked to write cannot be written (disk full, no permission, in the way)."""

    exit_code = 7


class DiskFullError(StoreError):
    """The disk that a store or an output file is written to has no space left."""
