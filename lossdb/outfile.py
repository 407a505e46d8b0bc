"""Writing a file the user named (a report, a figure): one rule for every command that does.

- An existing file is replaced only when the caller says so (`force`; `--force` on the
  command line), as `export` does: a second `lossdb report` never overwrites the first silently.
- The file appears whole or not at all: it is written to a temporary file beside it and renamed
  over the target, so a full disk or an interrupt leaves no partial (or 0-byte) file.
- A failed write (a full disk, a folder it may not write in) is one line that names it
  (`OutputError`, `write_error`), not "internal error"; a full disk under a store is a
  `DiskFullError` (`disk_full`).
- It gets the permissions a plain `open(path, "w")` would (the umask's, or those of the file
  it replaces), not the private 0600 of a temporary file.
"""
from __future__ import annotations

import errno
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from lossdb.errors import DiskFullError, OutputError, UsageError, first_line


def check_new(path: str | os.PathLike, *, force: bool = False, parameter: str = "path") -> Path:
    """`path` as a Path, if a file may be written there: its folder exists, and it is not a
    folder, nor an existing file unless `force`. `parameter`: the caller's name for `path`."""
    out = Path(path)
    if not out.parent.exists():
        raise UsageError(f"folder {out.parent} does not exist", "create it, or choose another path", parameter=parameter)
    if out.is_dir():
        raise UsageError(f"{out} is a folder", "name a file to write", parameter=parameter)
    if out.exists() and not force:
        raise exists(out, parameter)
    return out


def exists(out: Path, parameter: str = "path") -> UsageError:
    """The refusal of an output (file or folder) that exists, where `force` was not given."""
    return UsageError(f"{out} already exists", "choose another path, or replace it (force=True)",
                      cli_hint="choose another path, or pass --force to replace it", parameter=parameter)


@contextmanager
def replacing(path: str | os.PathLike, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path` to write; on success it is renamed to `path`, on
    any failure it is removed (and a failed write, a full disk or a folder it may not write in,
    becomes an OutputError)."""
    out = check_new(path, force=force)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=out.suffix, dir=out.parent)
    except OSError as e:
        raise write_error(e, out) from e
    tmp = Path(name)
    try:
        os.fchmod(fd, mode_for(out))  # mkstemp's 0600 would make a shared report unreadable to others
        os.close(fd)
        yield tmp
        os.replace(tmp, out)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        translated = write_error(e, out)
        if translated is e:
            raise
        raise translated from e


def write_error(error: BaseException, path: Path) -> BaseException:
    """What to raise for `error` while writing the file `path`: an OSError anywhere in its cause
    chain (a library may wrap it) becomes a one-line OutputError (disk full, permission denied,
    ...); anything else is `error` itself."""
    seen, visited = error, set()
    while seen is not None and not isinstance(seen, OSError) and id(seen) not in visited:
        visited.add(id(seen))
        seen = seen.__cause__ or seen.__context__
    if isinstance(error, (OutputError, KeyboardInterrupt)) or not isinstance(seen, OSError):
        return error
    if is_disk_full(seen):
        return OutputError(f"no space left on the disk at {path.parent}, nothing written to {path}",
                           "free some space, or choose another path", parameter="path")
    reason = seen.strerror or first_line(seen)
    return OutputError(f"cannot write {path}: {reason}, nothing written", "choose another path", parameter="path")


def mode_for(out: Path) -> int:
    """The permissions `open(out, "w")` would give: an existing file's own, else 0666 less the umask."""
    try:
        return out.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)  # the only way to read it
        os.umask(umask)
        return 0o666 & ~umask


def is_disk_full(error: BaseException) -> bool:
    """Whether `error` (an OSError, or a library's error that only says so in words: DuckDB,
    Arrow) is the disk running out of space or quota."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(error).lower()
    return "no space left on device" in text or "disk quota exceeded" in text


def disk_full(folder: str | os.PathLike) -> DiskFullError:
    return DiskFullError(f"no space left on the disk at {folder}", "free some space there, or write somewhere else")
