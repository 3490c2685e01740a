"""Files that appear whole or not at all: the one way ``builders`` writes anything.

A file is written to a hidden temporary sibling, flushed to disk and renamed over its final
name (``os.replace`` is atomic within a file system), so a crash or a kill leaves the
previous complete file, never a truncated one. Before a large write the free space is
checked, and a full disk or a read-only folder becomes a ``WriteError`` with one line to
show: HDF5, which Keras uses for weights, can crash the process when it runs out of space
mid-write, so it must not get that far.

No TensorFlow here: ``archspec build`` and the run-folder checks use it before TensorFlow
is imported.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "TEMPORARY_PREFIXES",
    "WriteError",
    "atomic_path",
    "atomic_write",
    "describe_os_error",
    "ensure_free_space",
    "fsync_file",
    "remove_temporaries",
]

TEMPORARY_PREFIXES = (".tmp-", ".partial-")
"""Names of files being written; a resumed run removes those a killed process left."""

SPACE_MARGIN = 2**20
"""Bytes kept free beyond a write's estimate (metadata, logs written alongside)."""


class WriteError(OSError):
    """A file that cannot be written (disk full, read-only, no permission); one line to show."""


def describe_os_error(path: Path, exc: OSError) -> str:
    """``path: why`` in words a user can act on, for the errors writing files meets."""
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        free = _free_bytes(path)
        room = f" ({_mb(free)} free)" if free is not None else ""
        return f"{path}: no space left on the device{room}; free some space or choose another --out"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"{path}: cannot write here ({exc.strerror}); choose a writable --out"
    return f"{path}: cannot write ({exc.strerror or exc})"


def ensure_free_space(target: Path, needed: int) -> None:
    """Refuse writing about ``needed`` bytes to the file ``target`` when its disk lacks room."""
    free = _free_bytes(Path(target).parent)
    if free is not None and free < needed + SPACE_MARGIN:
        raise WriteError(
            errno.ENOSPC,
            f"{target}: no space left on the device for about {_mb(needed)} ({_mb(free)} "
            "free); free some space or choose another --out",
        )


@contextlib.contextmanager
def atomic_path(path: Path, *, expected_size: int = 0) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write; rename it over ``path`` on success.

    The temporary name keeps ``path``'s ending, because Keras and matplotlib choose the
    file format from it (``.keras``, ``.weights.h5``, ``.png``). ``expected_size`` (bytes)
    is checked against the free space first. Errors of the file system come out as
    ``WriteError`` naming ``path``.
    """
    path = Path(path)
    tmp = path.with_name(f"{TEMPORARY_PREFIXES[0]}{os.getpid()}-{path.name}")
    try:
        if expected_size:
            ensure_free_space(path, expected_size)
        yield tmp
        fsync_file(tmp)
        os.replace(tmp, path)
    except WriteError:
        raise
    except OSError as exc:
        raise WriteError(exc.errno or errno.EIO, describe_os_error(path, exc)) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new, never half."""
    payload = data.encode() if isinstance(data, str) else data
    with atomic_path(path, expected_size=len(payload)) as tmp:
        tmp.write_bytes(payload)


def fsync_file(path: Path) -> None:
    """Flush ``path`` to the disk, so the rename that follows publishes complete bytes."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_temporaries(folder: Path) -> None:
    """Delete the temporaries a killed process left under ``folder``; final files are whole."""
    if not folder.is_dir():
        return
    for leftover in folder.rglob(".*"):
        if leftover.is_file() and leftover.name.startswith(TEMPORARY_PREFIXES):
            leftover.unlink(missing_ok=True)


def _free_bytes(path: Path) -> int | None:
    for candidate in (Path(path), *Path(path).parents):
        if candidate.exists():
            try:
                return shutil.disk_usage(candidate).free
            except OSError:
                return None
    return None


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MB"
