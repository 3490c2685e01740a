"""One run, one folder: what a run folder holds, who may write into it, and when it goes.

A run folder records at its start which spec it trains (``run.json``, ``spec.yaml``), so
a later command can tell a finished run, an interrupted one and another spec's run apart
and refuse to write over them unless told to (``overwrite``). While a training runs it
holds an exclusive lock on the folder (``fcntl.flock``, released by the kernel when the
process dies, so a killed run never leaves a stale lock); a second training into the same
folder is refused with the holder's pid. A run that fails before its first epoch is
committed removes what it created, so a failed start leaves no empty folder behind.

No TensorFlow here: all of this is checked before TensorFlow is imported.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import hashlib
import json
import os
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builders.atomic import (
    TEMPORARY_PREFIXES,
    WriteError,
    atomic_write,
    describe_os_error,
    remove_temporaries,
)
from builders.errors import TrainError

__all__ = [
    "BACKUP_DIR",
    "RUN_FILE",
    "RunFolder",
    "check_writable",
    "committed_epochs",
    "open_run",
]

RUN_FILE = "run.json"
LOCK_FILE = ".lock"
BACKUP_DIR = "backup"
RUN_OUTPUTS = (
    RUN_FILE,
    "spec.yaml",
    "report.txt",
    "model.keras",
    "best.keras",
    "history.csv",
    "metrics.json",
    "metrics.schema.json",
    "curves.png",
    "tensorboard",
    BACKUP_DIR,
)
"""Everything a run writes; ``overwrite`` removes these and leaves other files alone."""


def check_writable(folder: Path) -> None:
    """Refuse a run folder that cannot be created or written, before anything else happens.

    Probes by creating a file, which is the only test that holds for every cause (a
    read-only mount, permissions, a file where a folder should be) and for root too.
    """
    folder = Path(folder)
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        where = existing if existing is not None else folder
        raise TrainError(f"{folder}: cannot create the run folder ({where} is not a folder)")
    try:
        fd, probe = _probe(existing)
        os.close(fd)
        # Another worker of the same run may already have swept it away as a temporary.
        Path(probe).unlink(missing_ok=True)
    except OSError as exc:
        raise TrainError(describe_os_error(folder, exc)) from None


def _probe(folder: Path) -> tuple[int, str]:
    name = folder / f".tmp-{os.getpid()}-probe"
    return os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), str(name)


def committed_epochs(folder: Path) -> int | None:
    """Epochs an interrupted run in ``folder`` has committed, or None when there is none."""
    try:
        state = json.loads((Path(folder) / BACKUP_DIR / "state.json").read_text())
    except (OSError, ValueError):
        return None
    epoch = state.get("epoch") if isinstance(state, dict) else None
    return epoch if isinstance(epoch, int) else None


@dataclass
class RunFolder:
    """A run folder this process holds: locked, its spec recorded.

    ``created`` is the topmost folder this process made (None when the folder existed):
    ``abandon`` removes it when no epoch was committed.
    """

    path: Path
    created: Path | None
    lock_fd: int | None
    record: dict[str, Any] = field(default_factory=dict)
    claimed: bool = False
    """Whether this process has written into the folder (a refused claim has not)."""

    def write(self, name: str, text: str) -> None:
        """Record ``text`` as the run's file ``name`` (spec.yaml, report.txt)."""
        atomic_write(self.path / name, text)

    def finish(self) -> None:
        """Mark the run finished, drop its backup and release the folder."""
        self.record["status"] = "finished"
        self.record["finished"] = _now()
        atomic_write(self.path / RUN_FILE, json.dumps(self.record, indent=2) + "\n")
        shutil.rmtree(self.path / BACKUP_DIR, ignore_errors=True)
        self.release()

    def abandon(self) -> None:
        """After a failure: keep a resumable run; undo a run that never committed an epoch."""
        if committed_epochs(self.path) is None:
            if self.created is not None:
                shutil.rmtree(self.created, ignore_errors=True)
            elif self.claimed:
                for name in RUN_OUTPUTS:
                    _remove(self.path / name)
                _remove(self.path / LOCK_FILE)
        self.release()

    def release(self) -> None:
        """Give up the lock (the kernel does so too if the process dies)."""
        if self.lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.lock_fd)
            self.lock_fd = None


def open_run(
    folder: Path,
    *,
    spec_text: str | None,
    spec_name: str | None,
    resume: bool,
    overwrite: bool = False,
    lock: bool = True,
) -> RunFolder:
    """Claim ``folder`` for a run: check what it holds, lock it and record the spec.

    Args:
        spec_text: the spec being trained; a folder recorded with another spec is refused.
        resume: continue the interrupted run the folder holds (refused when it holds none).
        overwrite: replace a finished run, an interrupted one or another spec's run.
        lock: False for the workers of a multi-worker run other than the chief, which
            share the chief's folder and write only their own backup in it.

    Raises:
        TrainError: the folder cannot be used as asked; the message says why and what to do.
    """
    folder = Path(folder)
    check_writable(folder)
    if folder.exists() and not folder.is_dir():
        raise TrainError(f"{folder}: not a folder; --out names the run folder")
    created = None if folder.exists() or not lock else _topmost_missing(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TrainError(describe_os_error(folder, exc)) from None
    run = RunFolder(folder, created, None)
    try:
        if lock:
            run.lock_fd = _lock(folder)
        run.record = _claim(folder, spec_text, spec_name, resume, overwrite, lock)
        run.claimed = lock and not resume
    except BaseException:
        run.abandon()
        raise
    return run


def _claim(
    folder: Path,
    spec_text: str | None,
    spec_name: str | None,
    resume: bool,
    overwrite: bool,
    chief: bool,
) -> dict[str, Any]:
    previous = _read_record(folder)
    digest = hashlib.sha256(spec_text.encode()).hexdigest() if spec_text is not None else None
    finished = (folder / "metrics.json").exists()
    epochs = committed_epochs(folder)
    if resume:
        if epochs is None:
            raise TrainError(
                f"{folder}: nothing to resume: "
                + (
                    "that run already finished (its metrics.json exists)"
                    if finished
                    else f"no {BACKUP_DIR}/ folder from an interrupted run"
                )
            )
        if previous and digest and previous.get("spec_sha256") not in (None, digest):
            raise TrainError(
                f"{folder}: the interrupted run trains another spec "
                f"({previous.get('spec_name')!r}); resume it with that spec, or pass "
                "--overwrite without --resume to start this one there"
            )
        remove_temporaries(folder)
        return previous or _new_record(spec_name, digest)
    if chief and not overwrite:
        _refuse_occupied(folder, previous, digest, finished, epochs)
    if chief:
        for name in RUN_OUTPUTS:
            _remove(folder / name)
    else:
        return previous or _new_record(spec_name, digest)
    remove_temporaries(folder)
    record = _new_record(spec_name, digest)
    atomic_write(folder / RUN_FILE, json.dumps(record, indent=2) + "\n")
    if spec_text is not None:
        atomic_write(folder / "spec.yaml", spec_text)
    return record


def _refuse_occupied(
    folder: Path,
    previous: dict[str, Any] | None,
    digest: str | None,
    finished: bool,
    epochs: int | None,
) -> None:
    hint = "pass --overwrite to replace it, or choose another --out"
    name = (previous or {}).get("spec_name")
    if previous and digest and previous.get("spec_sha256") not in (None, digest):
        raise TrainError(f"{folder}: holds a run of another spec ({name!r}); {hint}")
    if finished:
        raise TrainError(f"{folder}: holds a finished run of {name or 'a spec'!r}; {hint}")
    if epochs is not None:
        raise TrainError(
            f"{folder}: holds an interrupted run ({epochs} epochs done); pass --resume to "
            "continue it, or --overwrite to start again"
        )
    # Temporaries are not a run: a killed process's leftovers (removed below), or the
    # writability probe of another worker of this very run, racing with this claim.
    others = [
        p.name
        for p in folder.iterdir()
        if p.name != LOCK_FILE and not p.name.startswith(TEMPORARY_PREFIXES)
    ]
    if others and previous is None:
        shown = ", ".join(sorted(others)[:3]) + (", ..." if len(others) > 3 else "")
        raise TrainError(
            f"{folder}: not empty and not a run folder (holds {shown}); choose a new or "
            "empty --out, or pass --overwrite to train into it anyway"
        )


def _new_record(spec_name: str | None, digest: str | None) -> dict[str, Any]:
    return {
        "archspec_run": 1,
        "spec_name": spec_name,
        "spec_sha256": digest,
        "started": _now(),
        "status": "running",
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }


def _read_record(folder: Path) -> dict[str, Any] | None:
    try:
        record = json.loads((folder / RUN_FILE).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _lock(folder: Path) -> int:
    path = folder / LOCK_FILE
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise WriteError(exc.errno or errno.EIO, describe_os_error(path, exc)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise TrainError(
                f"{folder}: in use by a running training ({holder}); wait for it to end "
                "or choose another --out"
            ) from None
        # The holder may have removed and recreated the file between open and flock.
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {_now()}\n".encode(), 0)
    return fd


def _topmost_missing(folder: Path) -> Path:
    top = folder
    for parent in folder.parents:
        if parent.exists():
            break
        top = parent
    return top


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
