"""Training: the train: section, a run's outputs, kill and resume, strategies, the commands."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from archspec.training_config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- config (no TF)


def test_an_empty_train_section_is_valid_and_documented():
    config = TrainConfig.model_validate({})
    assert config.optimizer.type == "adam" and config.loss == "sparse_categorical_crossentropy"
    assert config.metrics == ["accuracy"] and config.early_stopping is None
    schema = TrainConfig.model_json_schema()
    assert "description" in schema["properties"]["epochs"]
    assert schema["properties"]["epochs"]["exclusiveMinimum"] == 0


def test_the_design_sketch_parses():
    config = TrainConfig.model_validate(
        {"epochs": 10, "batch_size": 128, "optimizer": {"type": "adam", "learning_rate": 1.0e-3}}
    )
    assert (config.epochs, config.batch_size, config.optimizer.learning_rate) == (10, 128, 1e-3)


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"optimizer": {"type": "sgd", "lr": 0.1}}, "optimizer.sgd.lr"),
        ({"optimizer": {"type": "lamb"}}, "optimizer"),
        ({"epochs": 0}, "epochs"),
        ({"optimizer": {"type": "adamw", "learning_rate": -1}}, "optimizer.adamw.learning_rate"),
        (
            {"schedule": {"type": "piecewise_constant", "boundaries": [5, 3], "values": [1, 2, 3]}},
            "schedule.piecewise_constant",
        ),
        (
            {"schedule": {"type": "piecewise_constant", "boundaries": [3], "values": [1]}},
            "schedule.piecewise_constant",
        ),
        ({"validation_split": 0.5, "test_split": 0.5}, ""),
        ({"label_smoothing": 0.1}, ""),
        ({"early_stopping": {"patience": 2, "mode": "max"}}, "early_stopping.mode"),
    ],
)
def test_bad_train_sections_name_the_field(data, where):
    with pytest.raises(ValidationError) as info:
        TrainConfig.model_validate(data)
    locations = [".".join(map(str, e["loc"])) for e in info.value.errors()]
    assert any(loc.startswith(where) for loc in locations), locations


def test_config_is_frozen():
    with pytest.raises(ValidationError):
        TrainConfig().epochs = 3  # type: ignore[misc]


# --------------------------------------------------------------------------- Keras side


class _Keras:
    """``keras``, imported at its first use: collecting this module's TensorFlow-free tests
    (``make test-fast``) must not pay for importing TensorFlow."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # pytest's collector inspects every module attribute
            raise AttributeError(name)
        pytest.importorskip("tensorflow")
        return getattr(pytest.importorskip("keras"), name)


keras = _Keras()


def tiny_model(shape=(8, 8, 1), classes: int = 10, dtype: str | None = None):
    return keras.Sequential(
        [
            keras.Input(shape),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(classes, activation="softmax", dtype=dtype),
        ]
    )


FAST = TrainConfig(epochs=2, batch_size=128, optimizer={"type": "adam", "learning_rate": 0.01})


def history_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from builders.train import train_model

    out = tmp_path_factory.mktemp("run")
    result = train_model(
        tiny_model, FAST, None, out, verbose=0, spec_text="name: tiny\n", report_text="report\n"
    )
    return result


@pytest.mark.keras
def test_a_run_leaves_every_output(run):
    out = run.out_dir
    for name in (
        "model.keras",
        "best.keras",
        "history.csv",
        "metrics.json",
        "metrics.schema.json",
        "curves.png",
    ):
        assert (out / name).is_file(), name
    assert (out / "spec.yaml").read_text() == "name: tiny\n"
    assert (out / "report.txt").read_text() == "report\n"
    assert not (out / "backup").exists()  # removed once the run completed
    assert not [p for p in out.iterdir() if p.name.startswith((".tmp-", ".partial-"))]
    from importlib.util import find_spec

    if find_spec("tensorboard") is not None:
        assert list((out / "tensorboard").rglob("events.out.tfevents.*"))


@pytest.mark.keras
def test_metrics_json_validates_against_its_schema(run):
    import jsonschema

    from builders.metrics import TrainMetrics

    metrics = json.loads((run.out_dir / "metrics.json").read_text())
    schema = json.loads((run.out_dir / "metrics.schema.json").read_text())
    assert schema == TrainMetrics.model_json_schema()
    jsonschema.validate(metrics, schema)
    assert metrics["epochs"] == 2 and metrics["initial_epoch"] == 0
    assert metrics["data_source"] == "digits" and metrics["num_test"] == 359
    for key in ("train", "val", "test"):
        assert 0 <= metrics[f"{key}_accuracy"] <= 1 and metrics[f"{key}_loss"] > 0
    assert metrics["test_accuracy"] > 0.5  # it learned something in two epochs
    assert metrics["images_per_second"] > 0 and metrics["wall_time_seconds"] > 0
    assert metrics["strategy"] == "_DefaultDistributionStrategy" or metrics["replicas"] == 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**metrics, "test_accuracy": "high"}, schema)


@pytest.mark.keras
def test_curves_png_is_a_real_png_with_both_panels(run):
    from PIL import Image

    path = run.out_dir / "curves.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (1000, 400)  # loss and accuracy


@pytest.mark.keras
def test_history_has_one_row_per_epoch(run):
    rows = history_rows(run.out_dir / "history.csv")
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "train_seconds"} <= set(rows[0])


@pytest.mark.keras
def test_saved_models_load_and_predict(run):
    for name in ("model.keras", "best.keras"):
        model = keras.saving.load_model(run.out_dir / name)
        assert model.predict(keras.ops.zeros((1, 8, 8, 1)), verbose=0).shape == (1, 10)


# --------------------------------------------------------------------------- kill and resume

DRIVER = """
import os, sys
import keras
from archspec.training_config import TrainConfig
from builders.train import train_model

CONFIG = TrainConfig(epochs=4, batch_size=128, optimizer={"type": "adam", "learning_rate": 0.01})


def build():
    return keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])


class Kill(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:  # the second epoch has ended and every callback has run
            os._exit(17)


if __name__ == "__main__":
    train_model(build, CONFIG, None, sys.argv[1], verbose=2, callbacks=[Kill()])
"""


def python_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


@pytest.mark.keras
def test_a_killed_run_resumes_at_the_next_epoch(tmp_path):
    import importlib.util

    from builders.train import TrainError, train_model

    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    out = tmp_path / "run"
    killed = subprocess.run(
        [sys.executable, str(driver), str(out)],
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == 17, killed.stderr[-2000:]
    assert (out / "backup").is_dir() and not (out / "metrics.json").exists()
    assert [r["epoch"] for r in history_rows(out / "history.csv")] == ["1", "2"]

    spec = importlib.util.spec_from_file_location("driver", driver)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    class Epochs(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen: list[int] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.seen.append(epoch)

    recorder = Epochs()
    result = train_model(
        module.build, module.CONFIG, None, out, resume=True, verbose=0, callbacks=[recorder]
    )
    assert recorder.seen == [2, 3]  # continues at epoch 3 (1-based)
    assert result.metrics.epochs == 4 and result.metrics.initial_epoch == 2
    assert [r["epoch"] for r in history_rows(out / "history.csv")] == ["1", "2", "3", "4"]
    # every file is whole: the models load, the JSON parses, the PNG decodes
    for name in ("model.keras", "best.keras"):
        keras.saving.load_model(out / name)
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 4
    from PIL import Image

    with Image.open(out / "curves.png") as image:
        image.verify()
    assert not (out / "backup").exists()
    with pytest.raises(TrainError, match="already finished"):
        train_model(module.build, module.CONFIG, None, out, resume=True, verbose=0)


KILLABLE = """
import sys
from pathlib import Path
import keras
from archspec.training_config import TrainConfig
from builders.train import train_model

CONFIG = TrainConfig(epochs=60, batch_size=64, optimizer={"type": "adam", "learning_rate": 0.01})


def build():
    return keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(8, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])


class Started(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        Path(sys.argv[2]).touch()


if __name__ == "__main__":
    train_model(build, CONFIG, None, sys.argv[1], resume=sys.argv[3] == "resume", verbose=0,
                callbacks=[Started()])
"""


def assert_run_is_whole(out: Path, build) -> None:
    """Whatever a kill left under its final names is complete: models, weights, JSON, CSV.

    Temporaries being written (hidden ``.tmp-*`` and ``.partial-*`` files) may be cut short.
    """

    def final(paths):
        return [p for p in paths if not p.name.startswith(".")]

    for path in final(out.glob("*.keras")):
        keras.saving.load_model(path, safe_mode=True)
    for path in final(out.rglob("*.json")):
        json.loads(path.read_text())
    if (out / "history.csv").exists():
        rows = history_rows(out / "history.csv")
        assert all(None not in row.values() and "" not in row.values() for row in rows), rows
    for weights in final((out / "backup").glob("*.weights.h5")):
        build().load_weights(weights)


@pytest.mark.keras
@pytest.mark.slow
def test_kills_at_random_moments_leave_a_loadable_resumable_run(tmp_path):
    """SIGKILL at seeded random moments of training, saving included; then finish the run."""
    import random
    import time

    from builders.train import train_model

    rng = random.Random(8)
    driver = tmp_path / "killable.py"
    driver.write_text(KILLABLE)
    out = tmp_path / "run"
    spec = importlib.util.spec_from_file_location("killable", driver)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    kills = 0
    for attempt in range(3):
        started = tmp_path / f"started-{attempt}"
        mode = "resume" if (out / "backup").is_dir() else "fresh"
        proc = subprocess.Popen(
            [sys.executable, str(driver), str(out), str(started), mode],
            env=python_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), proc.communicate()[1][-2000:]
        time.sleep(rng.uniform(0.0, 2.0))
        if proc.poll() is None:
            proc.kill()
            kills += 1
        proc.communicate()
        assert_run_is_whole(out, module.build)
        if (out / "metrics.json").exists():
            break
    assert kills >= 1, "every run finished before it could be killed"
    if not (out / "metrics.json").exists():
        result = train_model(
            module.build, module.CONFIG, None, out, resume=(out / "backup").is_dir(), verbose=0
        )
        assert result.metrics.epochs == module.CONFIG.epochs
    assert_run_is_whole(out, module.build)
    leftovers = [p.name for p in out.rglob(".*") if p.name.startswith((".tmp-", ".partial-"))]
    assert not leftovers, "a resumed run clears the temporaries of the killed ones"
    epochs = [int(r["epoch"]) for r in history_rows(out / "history.csv")]
    assert epochs == list(range(1, module.CONFIG.epochs + 1))


@pytest.mark.keras
def test_resume_without_a_backup_is_refused(tmp_path):
    from builders.train import TrainError, train_model

    with pytest.raises(TrainError, match="no backup/ folder"):
        train_model(tiny_model, FAST, None, tmp_path, resume=True, verbose=0)


# --------------------------------------------------------------------------- strategies

MIRRORED = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
import keras
from archspec.training_config import TrainConfig
from builders.train import train_model

def build():
    return keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])

result = train_model(build, TrainConfig(epochs=1, batch_size=64), None, sys.argv[1],
                     strategy="mirrored", verbose=2)
print("REPLICAS", result.metrics.replicas, result.metrics.strategy, result.metrics.epochs)
"""


@pytest.mark.keras
def test_mirrored_strategy_trains_on_two_logical_cpus(tmp_path):
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED)
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "run")],
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "REPLICAS 2 MirroredStrategy 1" in done.stdout
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["replicas"] == 2


MULTIWORKER = """
import json, os, sys
os.environ["TF_CONFIG"] = json.dumps({
    "cluster": {"worker": [f"localhost:{p}" for p in sys.argv[3].split(",")]},
    "task": {"type": "worker", "index": int(sys.argv[2])},
})
import numpy as np
import keras
from archspec.training_config import TrainConfig
from builders.train import train_model

def build():
    return keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])

result = train_model(build, TrainConfig(epochs=2, batch_size=64), None, sys.argv[1],
                     strategy="multiworker", verbose=0)
checksum = sum(float(np.abs(w).sum()) for w in result.model.get_weights())
print("RESULT", result.metrics.replicas, f"{checksum:.6f}", f"{result.metrics.test_accuracy:.4f}")
"""


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.keras
@pytest.mark.slow
def test_multiworker_strategy_trains_two_workers_in_lock_step(tmp_path):
    """keras-team/keras#20585: plain Keras 3 fails here; builders.train's strategy works."""
    script = tmp_path / "worker.py"
    script.write_text(MULTIWORKER)
    ports = ",".join(map(str, free_ports(2)))
    workers = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path / "run"), str(i), ports],
            env=python_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    # One deadline for the pair. On a loaded 2-core machine each worker spends ~85 s importing
    # TensorFlow and ~175 s in all (measured at load 10), so a fixed 180 s per worker failed
    # there although nothing hung; a real hang still ends the test.
    deadline = time.monotonic() + 600
    results = []
    try:
        for worker in workers:
            results.append(worker.communicate(timeout=max(1.0, deadline - time.monotonic())))
    finally:
        for worker in workers:
            worker.kill()
            worker.communicate()
    outputs = []
    for worker, (stdout, stderr) in zip(workers, results, strict=True):
        assert worker.returncode == 0, stderr[-3000:]
        outputs.append(next(line for line in stdout.splitlines() if line.startswith("RESULT")))
    assert outputs[0] == outputs[1]  # same weights and metrics on both workers
    assert outputs[0].split()[1] == "2"
    assert (tmp_path / "run" / "metrics.json").is_file()  # written by the chief only
    assert not list((tmp_path / "run").glob("worker-*"))


# --------------------------------------------------------------------------- precision, errors


@pytest.mark.keras
def test_mixed_precision_needs_a_float32_output_and_restores_the_policy(tmp_path):
    from builders.strategies import output_layer_dtype
    from builders.train import TrainError, train_model

    assert output_layer_dtype() is None
    config = TrainConfig(epochs=1, batch_size=256)
    with pytest.raises(TrainError, match="output layer must compute in float32"):
        train_model(tiny_model, config, None, tmp_path / "a", mixed_precision=True, verbose=0)
    assert keras.mixed_precision.global_policy().name == "float32"
    seen = []

    def build():
        seen.append(output_layer_dtype())
        return tiny_model(dtype=output_layer_dtype())

    result = train_model(build, config, None, tmp_path / "b", mixed_precision=True, verbose=0)
    assert seen == ["float32"] and result.metrics.mixed_precision
    assert result.model.layers[0].compute_dtype == "float16"
    assert keras.mixed_precision.global_policy().name == "float32"


@pytest.mark.keras
def test_a_built_model_cannot_be_distributed(tmp_path):
    from builders.train import TrainError, train_model

    with pytest.raises(TrainError, match="pass a function that builds the model"):
        train_model(tiny_model(), FAST, None, tmp_path, strategy="mirrored", verbose=0)


@pytest.mark.keras
def test_multiworker_without_tf_config_is_refused(tmp_path, monkeypatch):
    from builders.strategies import make_strategy
    from builders.train import TrainError

    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(TrainError, match="TF_CONFIG"):
        make_strategy("multiworker")


@pytest.mark.keras
@pytest.mark.parametrize(
    "section",
    [
        {
            "optimizer": {"type": "sgd", "momentum": 0.9, "nesterov": True},
            "schedule": {"type": "cosine_decay", "warmup_epochs": 1},
        },
        {
            "optimizer": {"type": "rmsprop"},
            "schedule": {"type": "exponential_decay", "decay_rate": 0.5, "staircase": True},
        },
        {
            "optimizer": {"type": "adamw", "weight_decay": 0.01},
            "schedule": {"type": "piecewise_constant", "boundaries": [2], "values": [0.01, 0.001]},
        },
    ],
    ids=["sgd-cosine", "rmsprop-step", "adamw-piecewise"],
)
def test_each_optimizer_and_schedule_becomes_keras(section):
    from builders.optimizers import make_optimizer

    config = TrainConfig.model_validate({"epochs": 4, **section})
    optimizer = make_optimizer(config, steps_per_epoch=10)
    assert type(optimizer).__name__.lower() == section["optimizer"]["type"]
    schedule = optimizer._learning_rate  # the schedule object, stepped by iterations
    rates = [float(schedule(step)) for step in (0, 10, 25, 39)]
    assert rates[0] != rates[-1]


@pytest.mark.keras
def test_label_smoothing_and_plateau_schedule_train(tmp_path):
    from builders.train import train_model

    config = TrainConfig(
        epochs=2,
        batch_size=256,
        loss="categorical_crossentropy",
        label_smoothing=0.1,
        schedule={"type": "reduce_on_plateau", "patience": 0},
        early_stopping={"monitor": "val_accuracy", "patience": 1},
    )
    result = train_model(tiny_model, config, None, tmp_path, verbose=0)
    assert result.metrics.best_monitor == "val_accuracy" and result.metrics.epochs >= 1


# --------------------------------------------------------------------------- commands


@pytest.mark.keras
def test_predict_prints_a_class_and_probability_per_file(run, tmp_path):
    from click.testing import CliRunner
    from PIL import Image

    from builders.commands import predict

    for i in range(3):
        Image.new("L", (8, 8), color=40 * i).save(tmp_path / f"{i}.png")
    result = CliRunner().invoke(predict, [str(run.out_dir / "best.keras"), str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 3
    path, label, probability = lines[0].split("\t")
    assert path.endswith("0.png") and label in "0123456789" and 0 < float(probability) <= 1


@pytest.mark.keras
def test_evaluate_reuses_the_runs_split_and_errors_are_one_line(run, tmp_path):
    from click.testing import CliRunner

    from builders.commands import evaluate, predict

    model = str(run.out_dir / "best.keras")
    result = CliRunner().invoke(evaluate, [model])
    assert result.exit_code == 0, result.output
    assert f"accuracy {run.metrics.test_accuracy:.2%} on 359 images of digits" in result.output
    result = CliRunner().invoke(evaluate, [model, "--data", str(tmp_path / "missing")])
    assert result.exit_code == 1 and "no such file or directory" in result.output
    assert "Traceback" not in result.output
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(predict, [model, str(tmp_path / "empty")])
    assert result.exit_code == 1 and "no images" in result.output


TINY_SPEC = """
archspec: 1
name: tiny
input: {shape: [8, 8, 1]}
layers:
  - {name: c1, type: conv2d, filters: 4, kernel: 3, activation: relu}
  - {type: flatten}
  - {name: out, type: dense, units: 10, activation: softmax}
train: {epochs: 3, batch_size: 256, optimizer: {type: adam, learning_rate: 1.0e-2}}
"""


@pytest.mark.keras
def test_train_command_writes_a_run_with_overrides(tmp_path):
    from click.testing import CliRunner

    from builders.commands import train

    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC)
    out = tmp_path / "run"
    result = CliRunner().invoke(train, [str(spec), "--epochs", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "tiny: test accuracy" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and metrics["batch_size"] == 256
    assert (out / "spec.yaml").read_text() == TINY_SPEC and (out / "report.txt").read_text()
    fresh = tmp_path / "runs" / "fresh"
    bad = CliRunner().invoke(train, [str(spec), "--out", str(fresh), "--data", str(tmp_path)])
    assert bad.exit_code == 1 and "class subfolders" in bad.output
    assert not (tmp_path / "runs").exists()  # a failed start leaves no folder behind
    again = CliRunner().invoke(train, [str(spec), "--out", str(out)])
    assert again.exit_code == 1 and "holds a finished run of 'tiny'" in again.output
    assert "--overwrite" in again.output and (out / "metrics.json").exists()


BOUNDARY = """
import os, sys
import keras
from archspec.training_config import TrainConfig
from builders.train import train_model

CONFIG = TrainConfig(epochs=2, batch_size=256, optimizer={"type": "adam", "learning_rate": 0.01})


def build():
    return keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])


if __name__ == "__main__":
    out, kill_at, mode, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    real, calls = os.replace, [0]

    def replace(src, dst, *args, **kwargs):  # every file of a run is published by a rename
        calls[0] += 1
        with open(log, "a") as f:
            f.write(os.path.basename(str(dst)) + "\\n")
        if calls[0] == kill_at and mode == "during":  # cut the file short, die before renaming
            os.truncate(src, os.path.getsize(src) // 2)
            os._exit(17)
        real(src, dst, *args, **kwargs)
        if calls[0] == kill_at and mode == "after":
            os._exit(17)

    os.replace = replace
    train_model(build, CONFIG, None, out, resume=os.path.isdir(os.path.join(out, "backup")),
                verbose=0)
"""


@pytest.mark.keras
@pytest.mark.slow
def test_a_kill_at_every_write_boundary_loses_no_epoch(tmp_path):
    """Kill right after each rename of a run (and in the middle of each model save), resume,
    and find every epoch in history.csv exactly once, agreeing with metrics.json."""
    from builders.train import train_model

    driver = tmp_path / "boundary.py"
    driver.write_text(BOUNDARY)
    spec = importlib.util.spec_from_file_location("boundary", driver)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def launch(out: Path, kill_at: int, mode: str, log: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(driver), str(out), str(kill_at), mode, str(log)],
            env=python_env(),
            capture_output=True,
            text=True,
            timeout=180,
        )

    reference = launch(tmp_path / "reference", 0, "none", tmp_path / "writes.log")
    assert reference.returncode == 0, reference.stderr[-2000:]
    writes = (tmp_path / "writes.log").read_text().split()
    assert {"history.csv", "model.keras", "state.json", "metrics.json"} <= set(writes)
    # Every boundary of the first epoch and of the end of the run; the second epoch's
    # boundaries are the same writes again. Mid-write kills where the models are saved.
    first_commit = writes.index("state.json") + 1
    points = [(k, "after") for k in range(1, first_commit + 1)]
    points += [(k, "after") for k in range(len(writes) - 2, len(writes) + 1)]
    points += [(writes.index("model.keras") + 1, "during")]
    points += [(writes.index("state.json"), "during")]  # the backup's weights
    for kill_at, mode in points:
        out = tmp_path / f"run-{kill_at}-{mode}"
        killed = launch(out, kill_at, mode, tmp_path / "ignored.log")
        assert killed.returncode == 17, (kill_at, mode, killed.stderr[-2000:])
        assert_run_is_whole(out, module.build)
        if not (out / "metrics.json").exists():
            resume = (out / "backup" / "state.json").exists()
            train_model(module.build, module.CONFIG, None, out, resume=resume, verbose=0)
        epochs = [int(r["epoch"]) for r in history_rows(out / "history.csv")]
        assert epochs == [1, 2], (kill_at, mode, writes[kill_at - 1], epochs)
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["epochs"] == len(epochs) == module.CONFIG.epochs, (kill_at, mode)


# --------------------------------------------------------------------------- failures, one line

WIDE = "  - {name: wide, type: dense, units: 3000, activation: relu}\n"
BIG_SPEC = TINY_SPEC.replace("  - {name: out,", WIDE + "  - {name: out,")


@pytest.fixture
def tmpfs(tmp_path):
    """A small tmpfs (6 MB) to fill or make read-only; skipped where none can be mounted."""
    mount = tmp_path / "mnt"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def one_line_failure(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    return errors[0]


@pytest.mark.keras
def test_a_full_disk_is_one_line_and_leaves_no_folder(tmp_path, tmpfs):
    from click.testing import CliRunner

    from builders.commands import train

    spec = tmp_path / "big.yaml"
    spec.write_text(BIG_SPEC)
    out = tmpfs / "run"
    line = one_line_failure(CliRunner().invoke(train, [str(spec), "--out", str(out)]))
    assert "model.keras" in line and "no space left" in line, line
    assert not out.exists()


@pytest.mark.keras
def test_a_read_only_out_is_refused_before_training(tmp_path, tmpfs):
    from click.testing import CliRunner

    from builders.commands import train

    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC)
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    line = one_line_failure(CliRunner().invoke(train, [str(spec), "--out", str(tmpfs / "r")]))
    assert "cannot write here" in line and "choose a writable --out" in line, line


@pytest.mark.keras
@pytest.mark.parametrize("damage", ["truncated", "nan", "missing-spec"])
def test_bad_input_to_train_is_one_line_and_leaves_no_folder(tmp_path, damage):
    import numpy as np
    from click.testing import CliRunner

    from builders.commands import train

    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC)
    data = tmp_path / "d.npz"
    x = np.random.default_rng(0).random((40, 8, 8)).astype("float32")
    if damage == "nan":
        x[3, 4, 4] = np.nan
    np.savez(data, x_train=x, y_train=np.arange(40) % 10)
    if damage == "truncated":
        data.write_bytes(data.read_bytes()[:300])
    args = [str(spec), "--data", str(data), "--out", str(tmp_path / "runs" / "x")]
    if damage == "missing-spec":
        args[0] = str(tmp_path / "missing.yaml")
    line = one_line_failure(CliRunner().invoke(train, args))
    expected = {
        "truncated": "not a readable .npz archive",
        "nan": "non-finite values",
        "missing-spec": "missing.yaml: no such file",
    }[damage]
    assert expected in line, line
    assert not (tmp_path / "runs").exists()


@pytest.mark.keras
def test_a_locked_folder_is_refused_naming_the_holder(tmp_path):
    from click.testing import CliRunner

    from builders.commands import train
    from builders.rundir import open_run

    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC)
    holder = open_run(tmp_path / "run", spec_text=TINY_SPEC, spec_name="tiny", resume=False)
    try:
        line = one_line_failure(
            CliRunner().invoke(train, [str(spec), "--out", str(tmp_path / "run")])
        )
        assert "in use by a running training (pid" in line, line
    finally:
        holder.release()
    other = tmp_path / "other.yaml"
    other.write_text(TINY_SPEC.replace("name: tiny", "name: other"))
    line = one_line_failure(CliRunner().invoke(train, [str(other), "--out", str(tmp_path / "run")]))
    assert "holds a run of another spec ('tiny')" in line, line


@pytest.mark.keras
@pytest.mark.slow
def test_gpu_check_dry_run_runs_everything_but_the_timing():
    """benchmarks/gpu_check.sh --dry-run: both ResNet-50s built, equal, trained a few steps."""
    done = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--dry-run"],
        env={**python_env(), "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=480,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "parameters: spec 25,636,712, keras 25,636,712" in done.stdout
    assert "ratio spec/keras" in done.stdout and "training-memory estimate" in done.stdout
    assert "not a measurement" in done.stdout


# --------------------------------------------------------------------------- before TensorFlow

FREE_SPEC = """
archspec: 1
name: free
input: {shape: [H, W, 1]}
layers:
  - {name: c1, type: conv2d, filters: 4, kernel: 5, activation: relu}
  - {type: global_avg_pool2d}
  - {name: out, type: dense, units: 2, activation: softmax}
train: {epochs: 1, batch_size: 8}
"""

BEFORE_TENSORFLOW = """
import sys
from archspec.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    print("EXIT", exc.code, "tensorflow" in sys.modules)
"""


def grey_folder(path: Path, sizes: list[int], classes: str = "ab", mode: str = "L") -> Path:
    from PIL import Image

    for cls in classes:
        (path / cls).mkdir(parents=True, exist_ok=True)
        for i, size in enumerate(sizes):
            Image.new(mode, (size, size), color=(60 if cls == "a" else 200,) * len(mode)).save(
                path / cls / f"{i}.png"
            )
    return path


@pytest.mark.slow  # a fresh process each
@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing-spec", "missing.yaml: no such file or directory"),
        ("folder-as-spec", "is a folder, not a spec file"),
        ("npz-size", "x_train images are 6x6 but the spec takes 8x8; resize the arrays to 8x8"),
        ("npz-channels", "x_train: 3-channel images, but the spec takes 1 channel; convert"),
        ("npz-classes", "labels must lie in 0..9 (the spec has 10 output units)"),
        ("folder-channels", "0.png: 3-channel images, but the spec takes 1 channel"),
        ("folder-classes", "(2 class subfolders) has 2 classes but the spec's output layer has 10"),
        ("free-too-small", "which accepts H >= 5 (H=3 fails at layer 'c1')"),
        ("free-mixed-sizes", "the images differ in size, so the spec's free H cannot be taken"),
    ],
)
def test_bad_arguments_spec_and_data_are_one_line_before_tensorflow(tmp_path, case, expected):
    """Everything wrong before training is found without importing TensorFlow (fast), in one
    line, exit 1, leaving no run folder."""
    import numpy as np

    spec = tmp_path / "tiny.yaml"
    spec.write_text(FREE_SPEC if case.startswith("free") else TINY_SPEC)
    data = tmp_path / "d.npz"
    shapes = {"npz-size": (20, 6, 6), "npz-channels": (20, 8, 8, 3)}
    labels = np.arange(20) % (12 if case == "npz-classes" else 10)
    np.savez(data, x_train=np.zeros(shapes.get(case, (20, 8, 8)), "float32"), y_train=labels)
    if case.startswith("folder-") and case != "folder-as-spec":
        mode = "RGB" if case == "folder-channels" else "L"
        classes = "ab" if case == "folder-classes" else "abcdefghij"
        data = grey_folder(tmp_path / "imgs", [8, 8], classes, mode)
    if case.startswith("free"):
        data = grey_folder(tmp_path / "imgs", [3, 3] if case == "free-too-small" else [12, 16])
    args = [str(spec), "--data", str(data), "--out", str(tmp_path / "runs" / "x")]
    if case == "missing-spec":
        args[0] = str(tmp_path / "missing.yaml")
    if case == "folder-as-spec":
        args[0] = str(tmp_path)
    script = tmp_path / "before.py"
    script.write_text(BEFORE_TENSORFLOW)
    done = subprocess.run(
        [sys.executable, str(script), "train", *args],
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.strip().splitlines()[-1] == "EXIT 1 False", done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    errors = done.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("Error: "), done.stderr
    assert expected in errors[0], errors[0]
    assert not (tmp_path / "runs").exists()


@pytest.mark.keras
def test_free_sizes_are_taken_from_the_data(tmp_path):
    from click.testing import CliRunner

    from builders.commands import train

    spec = tmp_path / "free.yaml"
    spec.write_text(FREE_SPEC)
    data = grey_folder(tmp_path / "imgs", [12] * 8)
    out = tmp_path / "run"
    result = CliRunner().invoke(train, [str(spec), "--data", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "sizes from the data: H=12, W=12" in result.output
    assert json.loads((out / "metrics.json").read_text())["image_shape"] == [12, 12, 1]
    assert "(12, 12, 1)" in (out / "report.txt").read_text()


@pytest.mark.keras
@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("npz-size", "x_train images are 6x6 but the model takes 8x8"),
        ("npz-channels", "x_train: 3-channel images, but the model takes 1 channel"),
        ("folder-classes", "has 2 classes but the model's output layer has 10 units"),
        ("predict-channels", "a 3-channel image, but the model takes 1 channel"),
    ],
)
def test_evaluate_and_predict_refuse_data_that_does_not_fit_the_model(
    run, tmp_path, case, expected
):
    import numpy as np
    from click.testing import CliRunner

    from builders.commands import evaluate, predict

    model = str(run.out_dir / "best.keras")
    shape = {"npz-size": (20, 6, 6), "npz-channels": (20, 8, 8, 3)}.get(case, (20, 8, 8))
    np.savez(tmp_path / "d.npz", x_train=np.zeros(shape, "float32"), y_train=np.arange(20) % 10)
    if case == "folder-classes":
        args = [model, "--data", str(grey_folder(tmp_path / "imgs", [8, 8]))]
    elif case == "predict-channels":
        images = grey_folder(tmp_path / "imgs", [8], "a", mode="RGB")
        result = CliRunner().invoke(predict, [model, str(images)])
        assert expected in one_line_failure(result)
        return
    else:
        args = [model, "--data", str(tmp_path / "d.npz")]
    assert expected in one_line_failure(CliRunner().invoke(evaluate, args))


@pytest.mark.keras
def test_keras_never_says_the_input_ran_out_of_data(tmp_path):
    """Steps per epoch agree with every dataset: fit and the final evaluations read each
    split to its end and no further."""
    import warnings

    from builders.train import train_model

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train_model(tiny_model, FAST, None, tmp_path / "run", verbose=0)
    assert not [w for w in caught if "ran out of data" in str(w.message)]


@pytest.mark.parametrize(
    "args",
    [
        ["missing.yaml", "--input", "H=x"],
        ["missing.yaml", "--resume", "--overwrite"],
        ["missing.yaml", "--epochs", "0"],
    ],
)
def test_misuse_of_the_train_command_line_exits_2_before_the_spec_is_read(args):
    """The exit-code rule of every command: the command line's own mistakes are 2, checked
    first; a spec that cannot be read is 1."""
    from click.testing import CliRunner

    from builders.commands import train

    result = CliRunner().invoke(train, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "missing.yaml" not in result.output


def test_another_workers_probe_does_not_make_the_folder_occupied(tmp_path):
    """The workers of a multi-worker run claim one folder at the same moment: the chief must
    not take the other worker's writability probe for someone else's files, nor the worker
    fail when the chief's clean-up removed its probe first."""
    from builders.rundir import open_run

    out = tmp_path / "run"
    out.mkdir()
    (out / ".tmp-99999-probe").write_bytes(b"")  # a probe another process is about to unlink
    run = open_run(out, spec_text="name: tiny\n", spec_name="tiny", resume=False)
    assert not (out / ".tmp-99999-probe").exists() and (out / "run.json").is_file()
    run.release()
    worker = open_run(out, spec_text="name: tiny\n", spec_name="tiny", resume=False, lock=False)
    worker.release()
