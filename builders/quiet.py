"""Keep TensorFlow's native start-up chatter off the terminal unless ``--verbose`` asks.

TensorFlow's C++ side logs through absl before any setting can reach it: the oneDNN
notice, CPU-feature hints and, on machines without a GPU, cuInit failures are printed
whatever ``TF_CPP_MIN_LOG_LEVEL`` says. The only dependable filter is at the file
descriptor: standard error is routed through a pipe, and a thread forwards every line
except those in the native log format (``I0000 00:00:...  123 file.cc:45] ...``). Python's
own messages, Keras's included, pass unchanged. Installed only for the command line, and
only when standard error is the process's real one (not under a test runner's capture).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import sys
import threading

__all__ = ["quiet_tensorflow"]

NATIVE_LINE = re.compile(
    rb"^(?:[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\]|WARNING: All log messages before absl::"
    rb"|To enable the following instructions:)"
)
"""A line of absl/glog output from TensorFlow's C++ code, or its known continuations."""

_installed = False


def quiet_tensorflow(verbose: bool = False) -> None:
    """Silence TensorFlow's native logging for this process, unless ``verbose``."""
    global _installed
    if verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    if _installed:
        return
    try:
        if sys.stderr.fileno() != 2:
            return
    except (AttributeError, OSError, ValueError):
        return
    _installed = True
    sys.stderr.flush()
    original = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    thread = threading.Thread(target=_forward, args=(read_end, original), daemon=True)
    thread.start()

    def restore() -> None:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os.dup2(original, 2)  # closes the pipe's last write end: the thread sees EOF
        thread.join(timeout=5)

    atexit.register(restore)


def _forward(read_end: int, target: int) -> None:
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        pending = b""
        while chunk := pipe.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if not NATIVE_LINE.match(line):
                    os.write(target, line + b"\n")
        if pending and not NATIVE_LINE.match(pending):
            os.write(target, pending)
