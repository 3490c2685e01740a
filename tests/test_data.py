"""Data sources for training: the built-in digits, .npz files, image folders, and their errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from builders.data import (
    DataError,
    DataSplits,
    load_data,
    load_image_files,
    stratified_split,
)

pytestmark = pytest.mark.keras


def labels_of(ds) -> np.ndarray:
    return np.concatenate([y.numpy() for _, y in ds]) if ds is not None else np.zeros(0)


def images_of(ds) -> np.ndarray:
    return np.concatenate([x.numpy() for x, _ in ds])


def write_png(path: Path, size: int = 10, value: int = 128, mode: str = "L") -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    channels = {"L": (size, size), "RGB": (size, size, 3)}[mode]
    Image.fromarray(np.full(channels, value, dtype=np.uint8), mode=mode).save(path)


# --------------------------------------------------------------------------- splitting


def test_stratified_split_is_a_seeded_partition_with_class_proportions():
    labels = np.repeat(np.arange(5), [40, 30, 20, 10, 3])
    train, val, test = stratified_split(labels, 0.1, 0.2, seed=3)
    together = np.concatenate([train, val, test])
    assert sorted(together) == list(range(len(labels)))  # a partition
    for cls, n in enumerate([40, 30, 20, 10, 3]):
        assert abs((labels[test] == cls).sum() - 0.2 * n) <= 0.5
        assert abs((labels[val] == cls).sum() - 0.1 * n) <= 0.5
    again = stratified_split(labels, 0.1, 0.2, seed=3)
    other = stratified_split(labels, 0.1, 0.2, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again, strict=True))
    assert not np.array_equal(test, other[2])


def test_a_class_with_one_image_stays_in_training():
    train, val, test = stratified_split(np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), 0.1, 0.2, 0)
    assert 10 in train and len(val) == 1 and len(test) == 2


# --------------------------------------------------------------------------- digits


@pytest.fixture(scope="module")
def digits() -> DataSplits:
    return load_data(None, (8, 8, 1), num_classes=10, batch_size=256, seed=0)


def test_digits_splits_are_stratified_and_cover_every_image(digits):
    assert (digits.num_train, digits.num_validation, digits.num_test) == (1259, 179, 359)
    assert digits.num_classes == 10 and digits.class_names == tuple("0123456789")
    assert digits.source == "digits"
    for ds, n in ((digits.validation, digits.num_validation), (digits.test, digits.num_test)):
        counts = np.bincount(labels_of(ds), minlength=10)
        assert counts.sum() == n
        assert counts.max() - counts.min() <= 2  # digits has 174..183 images per class


def test_digits_split_is_deterministic_for_a_seed(digits):
    again = load_data(None, (8, 8, 1), num_classes=10, batch_size=256, seed=0)
    other = load_data(None, (8, 8, 1), num_classes=10, batch_size=256, seed=1)
    assert np.array_equal(images_of(digits.test), images_of(again.test))
    assert not np.array_equal(images_of(digits.test), images_of(other.test))


def test_training_order_is_shuffled_with_the_seed(digits):
    first = labels_of(digits.train)
    again = labels_of(load_data(None, (8, 8, 1), batch_size=256, seed=0).train)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, np.sort(first))


def test_digits_are_resized_scaled_and_given_three_channels():
    splits = load_data(None, (16, 12, 3), batch_size=64)
    x, y = next(iter(splits.test))
    assert x.shape == (64, 16, 12, 3) and x.dtype.name == "float32" and y.dtype.name == "int32"
    x = x.numpy()
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() > 0.9
    assert np.array_equal(x[..., 0], x[..., 2])  # grey replicated


def test_digits_refuse_a_model_with_other_than_ten_outputs():
    with pytest.raises(DataError, match=r"10 classes but the model's output layer has 5 units"):
        load_data(None, (8, 8, 1), num_classes=5)


# --------------------------------------------------------------------------- npz


def make_npz(path: Path, n: int = 60, classes: int = 3, **extra: np.ndarray) -> Path:
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (n, 6, 6), dtype=np.uint8),
        "y_train": np.arange(n) % classes,
        **extra,
    }
    np.savez(path, **arrays)
    return path


def test_npz_is_split_three_ways(tmp_path):
    splits = load_data(make_npz(tmp_path / "d.npz"), (6, 6, 1), num_classes=3, batch_size=8)
    assert (splits.num_train, splits.num_validation, splits.num_test) == (42, 6, 12)
    x = images_of(splits.train)
    assert x.shape == (42, 6, 6, 1) and x.min() >= 0 and x.max() <= 1


def test_npz_test_arrays_are_the_test_split(tmp_path):
    rng = np.random.default_rng(1)
    path = make_npz(
        tmp_path / "d.npz",
        x_test=rng.random((9, 6, 6, 1)).astype("float32"),
        y_test=np.arange(9) % 3,
    )
    splits = load_data(path, (6, 6, 3), num_classes=3, batch_size=4)
    assert splits.num_test == 9
    assert splits.num_train + splits.num_validation == 60
    assert images_of(splits.test).shape == (9, 6, 6, 3)  # grey arrays feed a colour model


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        (
            {"x_train": np.zeros((4, 6, 6)), "y_train": np.zeros(3, int)},
            r"one label per image. Received: 4 images, 3 labels",
        ),
        (
            {"x_train": np.zeros((4, 6)), "y_train": np.zeros(4, int)},
            r"x_train must have shape \(N, H, W\) or \(N, H, W, C\)",
        ),
        (
            {"x_train": np.zeros((4, 6, 6)), "y_train": np.eye(4, dtype=int)},
            r"integer class labels of shape \(N,\), not one-hot",
        ),
        (
            {"x_train": np.zeros((4, 6, 6)), "y_train": np.array([0, 1, 2, 3])},
            r"labels must lie in 0..2 \(the model has 3 output units\)",
        ),
        (
            {"x_train": np.zeros((4, 6, 6)), "y_train": np.array([0, -1, 2, 1])},
            r"labels must lie in 0..2",
        ),
        (
            {"x_train": np.full((4, 6, 6), 255.0), "y_train": np.zeros(4, int)},
            r"float x_train must lie in \[0, 1\]",
        ),
        ({"images": np.zeros((4, 6, 6))}, r"missing x_train, y_train"),
        (
            {
                "x_train": np.zeros((4, 6, 6)),
                "y_train": np.zeros(4, int),
                "x_test": np.zeros((2, 6, 6)),
            },
            r"x_test and y_test must be given together",
        ),
        (
            {
                "x_train": np.zeros((4, 6, 6)),
                "y_train": np.zeros(4, int),
                "x_test": np.zeros((2, 5, 5)),
                "y_test": np.zeros(2, int),
            },
            r"x_test images must have the shape of x_train",
        ),
    ],
    ids=[
        "lengths",
        "rank",
        "one-hot",
        "label-too-big",
        "negative-label",
        "float-range",
        "keys",
        "half-test",
        "test-shape",
    ],
)
def test_npz_errors_name_the_file_and_the_problem(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=message) as info:
        load_data(path, (6, 6, 1), num_classes=3)
    assert str(path) in str(info.value)


# --------------------------------------------------------------------------- folders


def test_image_folder_classes_come_from_subfolders(tmp_path):
    for cls, value in (("cat", 30), ("dog", 220)):
        for i in range(10):
            write_png(tmp_path / "imgs" / cls / f"{i}.png", value=value, mode="RGB")
    splits = load_data(tmp_path / "imgs", (8, 8, 3), num_classes=2, batch_size=4, seed=0)
    assert splits.class_names == ("cat", "dog")
    assert (splits.num_train, splits.num_validation, splits.num_test) == (14, 2, 4)
    for ds in (splits.train, splits.validation, splits.test):
        for x, y in ds:
            x, y = x.numpy(), y.numpy()
            assert x.shape[1:] == (8, 8, 3)  # 10x10 files resized to the model's size
            # the pixels say which class each image is: labels follow the folders
            assert np.array_equal(x.mean(axis=(1, 2, 3)) > 0.5, y == 1)
    assert sorted(labels_of(splits.test)) == [0, 0, 1, 1]


def test_missing_path_is_named(tmp_path):
    with pytest.raises(DataError, match=r"nope: no such file or directory; expected an image"):
        load_data(tmp_path / "nope", (8, 8, 1))


def test_empty_folder_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"no class subfolders"):
        load_data(tmp_path, (8, 8, 1))


def test_class_folders_without_images_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    with pytest.raises(DataError, match=r"no images in its class subfolders") as info:
        load_data(tmp_path, (8, 8, 1), num_classes=2)
    assert str(tmp_path) in str(info.value)


def test_folder_class_count_must_match_the_model(tmp_path):
    for cls in "ab":
        write_png(tmp_path / cls / "0.png")
    with pytest.raises(DataError, match=r"has 2 classes but the model's output layer has 3"):
        load_data(tmp_path, (8, 8, 1), num_classes=3)


def test_other_files_are_refused(tmp_path):
    (tmp_path / "data.csv").write_text("1,2\n")
    with pytest.raises(DataError, match=r"not a folder or an .npz file"):
        load_data(tmp_path / "data.csv", (8, 8, 1))


def test_image_files_load_like_the_folder_pipeline(tmp_path):
    write_png(tmp_path / "a.png", size=20, value=255)
    write_png(tmp_path / "b.png", size=5, value=0, mode="RGB")
    batch = load_image_files([tmp_path / "a.png", tmp_path / "b.png"], (8, 8, 3))
    assert batch.shape == (2, 8, 8, 3) and batch.dtype == np.float32
    assert np.allclose(batch[0], 1.0) and np.allclose(batch[1], 0.0)
    (tmp_path / "c.png").write_text("garbage")
    with pytest.raises(DataError, match=r"c.png: cannot be read as an image"):
        load_image_files([tmp_path / "c.png"], (8, 8, 1))


def test_colour_images_into_a_grey_model_are_refused_naming_a_file(tmp_path):
    for cls in "ab":
        for i in range(3):
            write_png(tmp_path / cls / f"{i}.png", mode="RGB")
    with pytest.raises(DataError, match=r"a/0.png: 3-channel images, but the model takes 1 ch"):
        load_data(tmp_path, (8, 8, 1), num_classes=2)
    with pytest.raises(DataError, match=r"a 3-channel image, but the model takes 1 channel"):
        load_image_files([tmp_path / "a" / "0.png"], (8, 8, 1))


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (np.zeros((6, 8, 8)), r"x_train images are 8x8 but the model takes 6x6; resize the arr"),
        (np.zeros((6, 6, 6, 3)), r"x_train: 3-channel images, but the model takes 1 channel"),
    ],
    ids=["size", "channels"],
)
def test_npz_arrays_of_another_shape_are_refused_not_resized(tmp_path, x, message):
    np.savez(tmp_path / "d.npz", x_train=x, y_train=np.arange(6) % 3)
    with pytest.raises(DataError, match=message):
        load_data(tmp_path / "d.npz", (6, 6, 1), num_classes=3)


def test_the_data_is_inspected_without_tensorflow(tmp_path):
    """What the command line checks before TensorFlow is imported: sizes, channels, classes."""
    import subprocess
    import sys

    for cls in "ab":
        write_png(tmp_path / "imgs" / cls / "0.png", size=12)
    np.savez(tmp_path / "d.npz", x_train=np.zeros((4, 5, 7, 3)), y_train=np.array([0, 1, 4, 2]))
    code = (
        "import sys; from builders.datainfo import inspect_data as i; "
        f"f, n = i({str(tmp_path / 'imgs')!r}), i({str(tmp_path / 'd.npz')!r}); "
        "print(f.size, sorted(f.channels), f.num_classes, n.size, sorted(n.channels), "
        "n.num_classes, 'tensorflow' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "(12, 12) [1] 2 (5, 7) [3] 5 False"


# --------------------------------------------------------------------------- damaged data


def test_a_truncated_npz_is_one_clear_error(tmp_path):
    whole = make_npz(tmp_path / "whole.npz")
    cut = tmp_path / "cut.npz"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(DataError, match=r"cut.npz: not a readable .npz archive"):
        load_data(cut, (6, 6, 1), num_classes=3)


def test_non_finite_pixels_are_refused(tmp_path):
    x = np.full((6, 6, 6), 0.5, dtype=np.float32)
    x[2, 3, 3] = np.nan
    x[4, 0, 0] = np.inf
    np.savez(tmp_path / "nan.npz", x_train=x, y_train=np.arange(6) % 3)
    with pytest.raises(DataError, match=r"nan.npz: x_train holds 2 non-finite values"):
        load_data(tmp_path / "nan.npz", (6, 6, 1), num_classes=3)


def test_a_corrupt_image_is_named_or_skipped_when_asked(tmp_path):
    for cls in "ab":
        for i in range(6):
            write_png(tmp_path / cls / f"{i}.png")
    broken = tmp_path / "b" / "9.png"
    broken.write_bytes((tmp_path / "b" / "0.png").read_bytes()[:40])  # a cut-off PNG
    with pytest.raises(DataError, match=r"b/9.png: a corrupt or unreadable image.*--skip-bad"):
        load_data(tmp_path, (8, 8, 1), num_classes=2)
    with pytest.warns(UserWarning, match=r"9.png: skipped"):
        splits = load_data(tmp_path, (8, 8, 1), num_classes=2, skip_bad_images=True)
    assert splits.num_train + splits.num_validation + splits.num_test == 12
    assert sum(1 for _ in splits.train.unbatch()) == splits.num_train  # cardinality agrees


def test_a_folder_scan_is_reused_until_a_class_folder_changes(tmp_path):
    from builders.datainfo import scan_folder

    for cls in "ab":
        write_png(tmp_path / cls / "0.png")
    first = scan_folder(tmp_path)
    assert scan_folder(tmp_path) is first  # the check before training and the load share it
    write_png(tmp_path / "b" / "1.png", size=12)
    again = scan_folder(tmp_path)
    assert len(again.files) == 3 and sorted(again.sizes) == [(10, 10), (12, 12)]
