"""Fuzz the spec pipeline and every command for a while: ``python scripts/fuzz.py --minutes 10``.

Feeds the strategies of ``tests/test_hostile.py`` (random bytes and text, random YAML/JSON
trees, mutated specs from specs/, mutated spec text, and the classes of round two: squared
params, symbolic divisors, non-affine sizes, huge and non-finite numbers, hostile text, many
symbolic layers) to load -> validate -> analyse, as ``archspec check`` runs them, and through
every command that reads a spec (``tests/test_hostile.py``'s ``spec_commands()``: check in
each format, sizes, report in each format, diff, diagram, and any command listed in its
``OPTIONAL_COMMANDS`` once the CLI has it).

Commands run in a worker process, one input at a time, so that a run can be timed, its peak
memory read (Linux: ``VmHWM`` after resetting it through ``/proc/self/clear_refs``) and a hang
killed. Findings: an exception escaping, a traceback or an exit status other than 0, 1, 2, an
output line that starts with ``::`` or holds a control character, a run over ``--hang``
seconds, a run whose memory would take a fresh process over ``--megabytes``.

With ``--engine atheris`` (``pip install atheris``) coverage-guided byte fuzzing drives the
pipeline instead. Exit status: 0 when nothing was found, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import test_hostile as hostile  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SOURCES = {
    "bytes and text": hostile.raw_inputs.map(lambda x: (x, "<fuzz>")),
    "trees": st.tuples(hostile.trees, st.booleans()).map(lambda t: hostile.serialize(*t)),
    "mutated specs": st.tuples(hostile.mutated_specs(), st.booleans()).map(
        lambda t: hostile.serialize(*t)
    ),
    "mutated text": hostile.mutated_texts(),
    "gently mutated specs": hostile.mutated_specs(hostile.GENTLE).map(
        lambda t: hostile.serialize(t, False)
    ),
    "round two classes": hostile.round_two_specs(),
}


class Tally:
    """What the run tried, how far inputs got, and every distinct escape with its input."""

    def __init__(self) -> None:
        self.tried = 0
        self.outcomes: Counter[str] = Counter()
        self.escapes: dict[str, tuple[str, object]] = {}

    def record_escape(self, exc: BaseException, case: object) -> None:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        key = f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}"
        if key not in self.escapes:
            self.escapes[key] = ("".join(traceback.format_exception(exc)), case)
            print(f"\nESCAPE {key}\n  input: {case!r:.500}", flush=True)


def run_pipeline(tally: Tally, case: tuple[object, str]) -> None:
    tally.tried += 1
    try:
        tally.outcomes[hostile.pipeline(*case)] += 1  # type: ignore[arg-type]
    except Exception as exc:  # an escape is the finding: keep going, report it at the end
        tally.outcomes["escaped"] += 1
        tally.record_escape(exc, case)


def _peak_reset() -> None:
    """Start a new peak-memory measurement of this process (Linux; elsewhere a no-op)."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as out:
        out.write("5")


def _status_mb(field: str) -> float:
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _worker(conn: Any) -> None:
    """Runs one command at a time for the parent: exit code, output, seconds, extra megabytes."""
    import tempfile

    folder = tempfile.mkdtemp(prefix="archspec-fuzz-")
    while True:
        job = conn.recv()
        if job is None:
            return
        template, content, name = job
        path = Path(folder) / name
        path.write_bytes(content)
        args = hostile.command_line(template, str(path), folder)
        before = _status_mb("VmRSS")
        _peak_reset()
        start = time.perf_counter()
        try:
            code, output = hostile.run_main(args)
            error = None
        except BaseException as exc:  # an escape is the finding; the worker goes on
            code, output, error = -1, "", "".join(traceback.format_exception(exc))
        seconds = time.perf_counter() - start
        extra = max(_status_mb("VmHWM") - before, 0.0)
        conn.send((code, output[-4000:], seconds, extra, error))


class Worker:
    """A child process that runs commands in-process; killed and replaced when it hangs."""

    def __init__(self) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker, args=(child,), daemon=True)
        self.process.start()
        self.runs = 0

    def run(self, job: tuple[list[str], bytes, str], timeout: float) -> tuple | None:
        self.conn.send(job)
        self.runs += 1
        if not self.conn.poll(timeout):
            self.process.kill()
            self.process.join()
            return None
        return self.conn.recv()

    def close(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self.conn.send(None)
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()


def fresh_megabytes() -> float:
    """Peak memory of a fresh ``python -m archspec check`` on a real spec: the base to which a
    worker's extra memory is added to judge a run against ``--megabytes``."""
    import subprocess

    if not hasattr(os, "wait4"):
        return 0.0
    proc = subprocess.Popen(
        [sys.executable, "-m", "archspec", "check", str(ROOT / "specs" / "unet.yaml")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    _, _, usage = os.wait4(proc.pid, 0)
    return usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)


class CommandFuzzer:
    """Every input through one command of the table in turn, so that all are covered alike."""

    def __init__(self, tally: Tally, hang: float, megabytes: float) -> None:
        self.tally = tally
        self.hang = hang
        self.megabytes = megabytes
        self.base = fresh_megabytes()
        self.commands = hostile.spec_commands()
        self.turn = 0
        self.worker = Worker()
        self.slowest: tuple[float, str, object] = (0.0, "", None)
        self.heaviest: tuple[float, str, object] = (0.0, "", None)

    def run(self, case: tuple[object, str]) -> None:
        text, file = case
        name = "spec.json" if str(file).endswith(".json") else "spec.yaml"
        content = text if isinstance(text, bytes) else str(text).encode("utf-8", "replace")
        template = self.commands[self.turn % len(self.commands)]
        self.turn += 1
        label = " ".join(template)
        self.tally.tried += 1
        if self.worker.runs >= 2000:  # caches grow; a fresh worker keeps the measure honest
            self.worker.close()
            self.worker = Worker()
        answer = self.worker.run((template, content, name), self.hang * 6)
        if answer is None:
            self.worker = Worker()
            self.finding(f"hang over {self.hang * 6:g} s in {label}", content)
            return
        code, output, seconds, extra, error = answer
        megabytes = self.base + extra
        if seconds > self.slowest[0]:
            self.slowest = (seconds, label, content)
        if megabytes > self.heaviest[0]:
            self.heaviest = (megabytes, label, content)
        if error is not None:
            self.finding(f"exception in {label}: {error.strip().splitlines()[-1]}", content)
        elif code not in (0, 1, 2) or "Traceback" in output:
            self.finding(f"exit {code} or a traceback in {label}", (content, output[-500:]))
        elif seconds > self.hang:
            self.finding(f"run over {self.hang:g} s in {label} ({seconds:.1f} s)", content)
        elif megabytes > self.megabytes:
            self.finding(f"run over {self.megabytes:g} MB in {label} ({megabytes:.0f})", content)
        else:
            try:
                hostile.assert_no_injection(output)
            except AssertionError as exc:
                self.finding(f"injected output in {label}: {str(exc)[:80]!r}", content)
                return
            self.tally.outcomes[f"cli exit {code}"] += 1

    def finding(self, key: str, case: object) -> None:
        self.tally.outcomes["found (cli)"] += 1
        if key not in self.tally.escapes:
            self.tally.escapes[key] = ("", case)
            print(f"\nFOUND {key}\n  input: {case!r:.500}", flush=True)


def hypothesis_round(
    tally: Tally, source: str, examples: int, seed_value: int, cli: CommandFuzzer | None
) -> None:
    """One batch of fresh random examples; no shrinking, so a batch costs what it runs."""

    @seed(seed_value)
    @settings(
        max_examples=examples,
        derandomize=False,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(SOURCES[source])
    def batch(case: tuple[object, str]) -> None:
        if cli is not None:
            cli.run(case)
        else:
            run_pipeline(tally, case)

    batch()


def fuzz_hypothesis(
    minutes: float, examples: int, hang: float = 5.0, megabytes: float = 300.0
) -> tuple[Tally, CommandFuzzer]:
    tally = Tally()
    salt = int(time.time())  # fresh inputs on every run; printed so that a run can be redone
    print(f"seeds from {salt}")
    commands = CommandFuzzer(tally, hang, megabytes)
    print(f"commands: {len(commands.commands)}; a fresh check peaks at {commands.base:.0f} MB")
    deadline = time.monotonic() + minutes * 60
    start = time.monotonic()
    rounds = 0
    try:
        while time.monotonic() < deadline:
            source = list(SOURCES)[(rounds // 2) % len(SOURCES)]
            cli = commands if rounds % 2 else None  # every other batch through the commands
            hypothesis_round(
                tally, source, examples if cli is None else examples // 4, salt + rounds, cli
            )
            rounds += 1
            elapsed = time.monotonic() - start
            print(
                f"\r{elapsed:6.0f} s  {tally.tried} inputs  {len(tally.escapes)} found",
                end="",
                flush=True,
            )
    finally:
        commands.worker.close()
    print()
    return tally, commands


def fuzz_atheris(minutes: float) -> Tally:
    """Coverage-guided: libFuzzer mutates bytes, seeded with specs/, until the time is up."""
    import tempfile

    import atheris  # type: ignore[import-not-found]

    atheris.instrument_all()  # coverage of archspec, pydantic, yaml and sympy guides mutation
    tally = Tally()
    started = time.monotonic()

    def one_input(data: bytes) -> None:
        file = ("<fuzz>", "x.yaml", "x.json")[data[0] % 3] if data else "<fuzz>"
        run_pipeline(tally, (data[1:], file))
        if tally.tried % 5000 == 0:
            print(
                f"{time.monotonic() - started:6.0f} s  {tally.tried} inputs  "
                f"{len(tally.escapes)} escapes  {dict(tally.outcomes)}",
                flush=True,
            )

    # libFuzzer ends the process itself when the time is up: the summary is printed as it goes.
    corpus = Path(tempfile.mkdtemp(prefix="archspec-fuzz-"))
    for path in sorted((ROOT / "specs").glob("*.yaml")):
        (corpus / path.name).write_bytes(b"\x01" + path.read_bytes())
    atheris.Setup(
        [sys.argv[0], f"-max_total_time={int(minutes * 60)}", "-max_len=8192", str(corpus)],
        one_input,
    )
    with contextlib.suppress(SystemExit):
        atheris.Fuzz()
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="how long to fuzz")
    parser.add_argument("--examples", type=int, default=200, help="inputs per hypothesis batch")
    parser.add_argument("--hang", type=float, default=5.0, help="seconds a command may take")
    parser.add_argument("--megabytes", type=float, default=300.0, help="peak memory allowed")
    parser.add_argument("--engine", choices=["hypothesis", "atheris"], default="hypothesis")
    args = parser.parse_args()

    started = time.monotonic()
    commands = None
    if args.engine == "atheris":
        tally = fuzz_atheris(args.minutes)
    else:
        tally, commands = fuzz_hypothesis(args.minutes, args.examples, args.hang, args.megabytes)
    elapsed = time.monotonic() - started

    print(f"engine: {args.engine}, {elapsed / 60:.1f} min")
    print(f"inputs tried: {tally.tried} ({tally.tried / max(elapsed, 1e-9):.0f}/s)")
    for outcome, count in tally.outcomes.most_common():
        print(f"  {outcome}: {count}")
    if commands is not None:
        for what, (amount, label, case) in (
            ("slowest command run", commands.slowest),
            ("most memory", commands.heaviest),
        ):
            unit = "s" if what.startswith("slowest") else "MB (fresh-process estimate)"
            print(f"{what}: {amount:.2f} {unit}, {label}; input {case!r:.300}")
    print(f"found: {len(tally.escapes)}")
    for key, (trace, case) in tally.escapes.items():
        print(f"\n--- {key}\ninput: {case!r:.2000}\n{trace}")
    return 1 if tally.escapes else 0


if __name__ == "__main__":
    sys.exit(main())
