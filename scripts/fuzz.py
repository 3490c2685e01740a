"""Fuzz the spec pipeline for a while: ``python scripts/fuzz.py --minutes 5``.

Feeds the strategies of ``tests/test_hostile.py`` (random bytes and text, random YAML/JSON
trees, mutated specs from specs/, mutated spec text) to load -> validate -> analyse, as
``archspec check`` runs them, and counts what escapes: any exception but the loader's
``SpecError``. The CI test runs the same strategies a few hundred times; this runs them for as
long as it is given, with fresh random seeds, and also through the CLI now and then.

With ``--engine atheris`` (``pip install atheris``) coverage-guided byte fuzzing drives the
same pipeline instead. Exit status: 0 when nothing escaped, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

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


def run_cli(tally: Tally, case: tuple[object, str], command: list[str]) -> None:
    import tempfile

    text, file = case
    suffix = ".json" if str(file).endswith(".json") else ".yaml"
    content = text if isinstance(text, bytes) else str(text).encode("utf-8", "replace")
    tally.tried += 1
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"spec{suffix}"
        path.write_bytes(content)
        try:
            code, output = hostile.run_main([*command, str(path)])
        except Exception as exc:
            tally.outcomes["escaped (cli)"] += 1
            tally.record_escape(exc, (command, content))
            return
    if code not in (0, 1, 2) or "Traceback" in output:
        tally.outcomes["escaped (cli)"] += 1
        tally.record_escape(AssertionError(f"exit {code}: {output[-300:]}"), (command, content))
    else:
        tally.outcomes[f"cli exit {code}"] += 1


def hypothesis_round(tally: Tally, source: str, examples: int, seed_value: int, cli: bool) -> None:
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
    @given(SOURCES[source], st.sampled_from(hostile.COMMANDS))
    def batch(case: tuple[object, str], command: list[str]) -> None:
        if cli:
            run_cli(tally, case, command)
        else:
            run_pipeline(tally, case)

    batch()


def fuzz_hypothesis(minutes: float, examples: int) -> Tally:
    tally = Tally()
    salt = int(time.time())  # fresh inputs on every run; printed so that a run can be redone
    print(f"seeds from {salt}")
    deadline = time.monotonic() + minutes * 60
    start = time.monotonic()
    rounds = 0
    while time.monotonic() < deadline:
        source = list(SOURCES)[rounds % len(SOURCES)]
        cli = rounds % 10 == 9  # every tenth batch through the CLI, as a user runs it
        hypothesis_round(tally, source, examples if not cli else examples // 5, salt + rounds, cli)
        rounds += 1
        elapsed = time.monotonic() - start
        print(
            f"\r{elapsed:6.0f} s  {tally.tried} inputs  {len(tally.escapes)} escapes",
            end="",
            flush=True,
        )
    print()
    return tally


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
    parser.add_argument("--engine", choices=["hypothesis", "atheris"], default="hypothesis")
    args = parser.parse_args()

    started = time.monotonic()
    if args.engine == "atheris":
        tally = fuzz_atheris(args.minutes)
    else:
        tally = fuzz_hypothesis(args.minutes, args.examples)
    elapsed = time.monotonic() - started

    print(f"engine: {args.engine}, {elapsed / 60:.1f} min")
    print(f"inputs tried: {tally.tried} ({tally.tried / max(elapsed, 1e-9):.0f}/s)")
    for outcome, count in tally.outcomes.most_common():
        print(f"  {outcome}: {count}")
    print(f"escapes found: {len(tally.escapes)}")
    for key, (trace, case) in tally.escapes.items():
        print(f"\n--- {key}\ninput: {case!r:.2000}\n{trace}")
    return 1 if tally.escapes else 0


if __name__ == "__main__":
    sys.exit(main())
