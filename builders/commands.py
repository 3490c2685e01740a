"""``archspec train``, ``evaluate`` and ``predict``: the Keras side of the command line.

Mounted lazily by ``archspec.cli``, so TensorFlow is imported only when one of these runs
(and even then inside the function, after click has parsed the arguments, so ``--help``
stays instant). Every expected failure becomes a ``click.ClickException``: a one-line
message and exit status 1, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from .quiet import quiet_tensorflow

STRATEGIES = ("auto", "mirrored", "multiworker")
SPLITS = ("test", "validation", "train")


@click.command()
@click.argument("spec", type=click.Path(path_type=Path))
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=None,
    help="Image folder (one subfolder per class) or .npz; default: built-in digits.",
)
@click.option("--epochs", type=click.IntRange(min=1), help="Override train.epochs.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Override train.batch_size.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run folder; default runs/<spec name>/<timestamp>/.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue an interrupted run (in --out, or the latest under runs/<name>/).",
)
@click.option("--mixed-precision", is_flag=True, help="mixed_float16 compute (for GPUs).")
@click.option("--jit", is_flag=True, help="Compile steps with XLA.")
@click.option(
    "--strategy",
    type=click.Choice(STRATEGIES),
    default="auto",
    show_default=True,
    help="tf.distribute strategy; multiworker reads TF_CONFIG.",
)
@click.option("--input", "input_", metavar="H=..,W=..", help="Concrete sizes for free symbols.")
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace what --out holds (a finished run, an interrupted one, another spec's run).",
)
@click.option(
    "--skip-bad-images", is_flag=True, help="Leave corrupt files of an image folder out, warning."
)
@click.option("--verbose", is_flag=True, help="Show TensorFlow's own start-up logging.")
def train(
    spec: Path,
    data: Path | None,
    epochs: int | None,
    batch_size: int | None,
    out: Path | None,
    resume: bool,
    mixed_precision: bool,
    jit: bool,
    strategy: str,
    input_: str | None,
    overwrite: bool,
    skip_bad_images: bool,
    verbose: bool,
) -> None:
    """Train SPEC's model and write the run (models, metrics, history, curves, logs).

    Free sizes of the spec's input (``[H, W, C]``) not given with --input are taken from
    the data when its images share one size.
    """
    # Everything that can be wrong with the arguments, the spec or the data is found here,
    # before TensorFlow is imported: a mistake costs a fraction of a second, not seconds.
    from archspec.cli import existing_spec, load_or_diagnose, parse_sizes, render

    sizes = parse_sizes(input_)  # misuse of the command line (exit 2) comes first
    if resume and overwrite:
        raise click.UsageError("--resume and --overwrite contradict each other; choose one")
    if existing_spec(str(spec)).is_dir():
        raise click.ClickException(f"{spec}: is a folder, not a spec file")
    loaded, found = load_or_diagnose(spec)
    if loaded is None:
        render(found, "text", sys.stderr)
        raise click.ClickException(f"{spec}: the spec is invalid; nothing was trained")
    taken = _check_against_data(spec, loaded, sizes, data, skip_bad_images)
    if taken:
        given = ", ".join(f"{k}={v}" for k, v in taken.items())
        click.echo(f"{loaded.name}: sizes from the data: {given}", err=True)
    sizes = {**sizes, **taken}
    quiet_tensorflow(verbose)
    from archspec.diagnostics import SpecError
    from archspec.training_config import TrainConfig

    from .errors import TrainError
    from .rundir import committed_epochs, open_run

    overrides = {k: v for k, v in (("epochs", epochs), ("batch_size", batch_size)) if v}
    base = loaded.train.model_dump() if loaded.train is not None else {}
    config = TrainConfig.model_validate({**base, **overrides})
    out_dir = _run_dir(out, loaded.name, resume)
    spec_text = spec.read_text()
    try:
        run = open_run(
            out_dir,
            spec_text=spec_text,
            spec_name=loaded.name,
            resume=resume,
            overwrite=overwrite,
            lock=_is_chief(strategy),
        )
    except TrainError as exc:
        raise click.ClickException(str(exc)) from None
    done = committed_epochs(out_dir) if resume else None
    if done is not None:
        click.echo(
            f"Resuming {loaded.name} from epoch {done + 1} of {config.epochs} in {out_dir}",
            err=True,
        )
    else:
        click.echo(f"Training {loaded.name} into {out_dir}", err=True)
    try:
        result = _fit(
            *(run, loaded, sizes, config, data, resume),
            *(mixed_precision, jit, strategy, skip_bad_images),
        )
    except SpecError as exc:
        render(exc.diagnostics, "text", sys.stderr)
        raise click.ClickException(f"{spec}: the spec is invalid; nothing was trained") from None
    m = result.metrics
    click.echo(
        f"{loaded.name}: test accuracy {_percent(m.test_accuracy)}, validation accuracy "
        f"{_percent(m.val_accuracy)} after {m.epochs} epochs in {m.wall_time_seconds:.1f} s "
        f"({m.images_per_second:,.0f} images/s)"
    )
    click.echo(f"Wrote {out_dir}")


def _check_against_data(
    path: Path,
    spec: Any,
    sizes: dict[str, int],
    data: Path | None,
    skip_bad_images: bool,
) -> dict[str, int]:
    """The free sizes taken from the data (name -> size); the data checked against the spec.

    Runs the engine (pure Python) at those sizes, so a size outside the spec's valid set
    is refused here, naming the layer where it fails, before anything is built.
    """
    from archspec.cli import render
    from archspec.engine import analyze
    from archspec.symbols import is_symbolic

    from .datainfo import check_fits, inspect_data
    from .errors import DataError

    try:
        info = inspect_data(data, skip_bad_images)
    except DataError as exc:
        raise click.ClickException(str(exc)) from None
    free = analyze(spec, sizes)
    if not free.ok:
        render(free.diagnostics, "text", sys.stderr)
        raise click.ClickException(f"{path}: the spec is invalid; nothing was trained")
    taken: dict[str, int] = {}
    stored = (*info.size, next(iter(info.channels), None)) if info.size else None
    for axis, entry in enumerate(free.input_shape):
        if not is_symbolic(entry):
            continue
        name = str(entry)
        if not getattr(entry, "is_Symbol", False) or len(free.input_shape) != 3:
            raise click.ClickException(
                f"{path}: the input size {name} cannot be read off the data; give sizes "
                "with --input H=..,W=.."
            )
        if stored is None or stored[axis] is None:
            raise click.ClickException(
                f"{info.source}: the images differ in size, so the spec's free {name} cannot "
                f"be taken from them; give --input {name}=.. to resize them to one size"
            )
        taken[name] = int(stored[axis])  # type: ignore[arg-type]
    if not taken:
        fixed = free
    else:
        fixed = analyze(spec, {**sizes, **taken})
        if not fixed.ok:
            if not any(name in free.valid_inputs for name in taken):  # say why, located
                render(fixed.diagnostics, "text", sys.stderr)
            raise click.ClickException(_outside_valid_set(path, info.source, free, taken))
    if len(fixed.input_shape) != 3 or any(is_symbolic(d) for d in fixed.input_shape):
        return taken  # builders.data says what an image model needs
    last = fixed.layer(fixed.output) if fixed.output else (fixed.layers or [None])[-1]
    units = last.output_shape[-1] if last is not None else None
    units = None if units is None or is_symbolic(units) else int(units)
    try:
        check_fits(info, tuple(int(d) for d in fixed.input_shape), units)
    except DataError as exc:
        raise click.ClickException(str(exc)) from None
    return taken


def _outside_valid_set(path: Path, source: str, free: Any, taken: dict[str, int]) -> str:
    """One line: the data's size, the set the spec accepts, and the layer that fails."""
    given = ", ".join(f"{k}={v}" for k, v in taken.items())
    reasons = []
    for name, value in taken.items():
        valid = free.valid_inputs.get(name)
        if valid is None or value in valid:
            continue
        broken = valid.failing(value)
        where = f" ({name}={value} fails at layer {getattr(broken, 'label', '?')!r})"
        reasons.append(f"{valid.describe(name)}{where if broken is not None else ''}")
    accepted = "; ".join(reasons) if reasons else "other sizes"
    return (
        f"{source}: its images ({given}) do not fit {path}, which accepts {accepted}; "
        "resize the images, or give --input with a valid size"
    )


def _fit(
    run: Any,
    spec: Any,
    sizes: dict[str, int],
    config: Any,
    data: Path | None,
    resume: bool,
    mixed_precision: bool,
    jit: bool,
    strategy: str,
    skip_bad_images: bool,
) -> Any:
    """Import TensorFlow, build and train; every expected failure becomes one line."""
    try:
        from archspec.render import to_text

        from .data import DataError
        from .errors import TrainError
        from .model import BuildError, build
        from .train import train_model
    except BaseException:
        run.abandon()
        raise
    built: list[Any] = []

    def factory() -> Any:
        built.append(build(spec, sizes, mixed_precision=mixed_precision))
        return built[-1].model

    try:
        return train_model(
            factory,
            config,
            data,
            run,
            resume=resume,
            mixed_precision=mixed_precision,
            jit=jit,
            strategy=strategy,  # type: ignore[arg-type]
            report_text=lambda: to_text(built[-1].report),
            skip_bad_images=skip_bad_images,
        )
    except (BuildError, DataError, TrainError) as exc:
        raise click.ClickException(str(exc)) from None


def _is_chief(strategy: str) -> bool:
    """Whether this process writes the run (TF_CONFIG read as tf.distribute reads it)."""
    if strategy != "multiworker":
        return True
    try:
        config = json.loads(os.environ.get("TF_CONFIG", "{}"))
        task, cluster = config.get("task", {}), config.get("cluster", {})
        kind, index = task.get("type"), int(task.get("index", 0))
    except (ValueError, TypeError, AttributeError):
        return True  # make_strategy reports a malformed TF_CONFIG
    first_worker = kind == "worker" and index == 0 and "chief" not in cluster
    return kind == "chief" or first_worker or not kind


@click.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=None,
    help="Image folder or .npz; default: the run's data (built-in digits).",
)
@click.option(
    "--split",
    type=click.Choice(SPLITS),
    default="test",
    show_default=True,
    help="Which split of the data to evaluate on.",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--verbose", is_flag=True, help="Show TensorFlow's own start-up logging.")
def evaluate(model: Path, data: Path | None, split: str, batch_size: int, verbose: bool) -> None:
    """Evaluate a saved MODEL (.keras) on a data set and print loss and accuracy.

    The split is made as in training, with the seed and fractions recorded in the run's
    metrics.json beside MODEL when there is one, so the test split is the one held out.
    """
    _existing_model(model)
    quiet_tensorflow(verbose)
    from .data import DataError, load_data, model_io

    run = _run_metrics(model)
    net = _load_model(model)
    try:
        image_shape, units = model_io(net)
        source = data if data is not None else _recorded_source(run)
        splits = load_data(
            source,
            image_shape,
            num_classes=units,
            batch_size=batch_size,
            seed=run.get("seed", 0),
            validation_split=run.get("validation_split", 0.1),
            test_split=run.get("test_split", 0.2),
        )
    except DataError as exc:
        raise click.ClickException(str(exc)) from None
    ds = {"test": splits.test, "validation": splits.validation, "train": splits.train}[split]
    if ds is None:
        raise click.ClickException(f"{splits.source}: the data has no {split} images")
    import keras

    net.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=_emits_logits(net)),
        metrics=["accuracy"],
    )
    results = net.evaluate(ds, verbose=0, return_dict=True)
    count = {
        "test": splits.num_test,
        "validation": splits.num_validation,
        "train": splits.num_train,
    }[split]
    click.echo(
        f"{model}: {split} loss {results['loss']:.4f}, accuracy "
        f"{_percent(results['accuracy'])} on {count} images of {splits.source}"
    )


@click.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--verbose", is_flag=True, help="Show TensorFlow's own start-up logging.")
def predict(model: Path, images: tuple[Path, ...], as_json: bool, verbose: bool) -> None:
    """Classify IMAGES (files or folders) with a saved MODEL: class and probability per file.

    Class names come from the run's metrics.json beside MODEL when there is one.
    """
    _existing_model(model)
    from .datainfo import IMAGE_SUFFIXES

    files: list[Path] = []
    for path in images:
        if not path.exists():
            raise click.ClickException(f"{path}: no such file or directory")
        if path.is_dir():
            files.extend(
                sorted(
                    p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                )
            )
        else:
            files.append(path)
    if not files:
        raise click.ClickException(
            f"no images ({', '.join(IMAGE_SUFFIXES)}) in {', '.join(map(str, images))}"
        )
    quiet_tensorflow(verbose)
    from .data import DataError, load_image_files, model_io

    net = _load_model(model)
    names = _run_metrics(model).get("class_names")
    try:
        image_shape, _ = model_io(net)
        batch = load_image_files(files, image_shape)
    except DataError as exc:
        raise click.ClickException(str(exc)) from None
    probabilities = net.predict(batch, verbose=0)
    if _emits_logits(net):
        import keras

        probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(probabilities))
    for path, row in zip(files, probabilities, strict=True):
        index = int(row.argmax())
        label = names[index] if names and index < len(names) else str(index)
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "file": str(path),
                        "class": label,
                        "index": index,
                        "probability": float(row[index]),
                    }
                )
            )
        else:
            click.echo(f"{path}\t{label}\t{float(row[index]):.4f}")


def _run_dir(out: Path | None, name: str, resume: bool) -> Path:
    """The run folder: as given; for --resume, the newest interrupted run of this spec."""
    if out is not None:
        return out
    runs = Path("runs") / name
    if resume:
        interrupted = sorted(p for p in runs.glob("*") if (p / "backup").is_dir())
        if not interrupted:
            raise click.ClickException(
                f"--resume: no interrupted run under {runs}/ (none has a backup/ folder); "
                "give the run folder with --out"
            )
        return interrupted[-1]
    return runs / time.strftime("%Y%m%d-%H%M%S")


def _existing_model(path: Path) -> None:
    """A model that is not there cannot be read: exit 1, as for a spec (``archspec.cli``)."""
    if not path.is_file():
        what = "is a folder, not a .keras model" if path.is_dir() else "no such file or directory"
        raise click.ClickException(f"{path}: {what}")


def _load_model(path: Path) -> Any:
    import keras

    import builders.custom  # noqa: F401  (registers the custom layers for safe loading)

    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad file
        raise click.ClickException(f"{path}: cannot load the model ({exc})") from None


def _run_metrics(model: Path) -> dict[str, Any]:
    """metrics.json of the run that produced ``model``, if it sits beside it."""
    path = model.parent / "metrics.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        return {}


def _recorded_source(run: dict[str, Any]) -> Path | None:
    source = run.get("data_source", "digits")
    return None if source == "digits" else Path(source)


def _emits_logits(net: Any) -> bool:
    """Whether the model's last layer lacks a softmax, so outputs are logits."""
    activation = getattr(net.layers[-1], "activation", None)
    name = getattr(activation, "__name__", "")
    if name == "linear" and len(net.layers) > 1:  # a float32 cast after the real output
        name = getattr(getattr(net.layers[-2], "activation", None), "__name__", "")
    return name not in ("softmax", "sigmoid")


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"
