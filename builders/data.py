"""Image classification data for training: built-in digits, image folders and ``.npz`` files.

Every source ends in the same place: images scaled to [0, 1] at the model's input size
(H, W, C), integer labels, and a fixed, seeded, stratified train / validation / test
split, so a spec trains and is evaluated the same way whatever the data. The default
source is scikit-learn's 8x8 handwritten digits: real images that ship inside a package,
so ``archspec train`` works offline and in CI.

Splitting happens on indices, before any pixels are decoded, so image folders are read
lazily by tf.data and cached once per split.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from builders.datainfo import (
    EXPECTED_SOURCE,
    IMAGE_SUFFIXES,
    channels_convert,
    check_fits,
    inspect_data,
    scan_folder,
)
from builders.errors import DataError

__all__ = [
    "IMAGE_SUFFIXES",
    "DataError",
    "DataSplits",
    "load_data",
    "load_image_files",
    "model_io",
    "stratified_split",
]


@dataclass(frozen=True)
class DataSplits:
    """Batched ``(images, labels)`` datasets and what a trainer needs to know about them.

    Images are float32 in [0, 1] with shape ``image_shape``; labels are int32 class
    indices. ``test`` is None only when the split leaves no test images.
    """

    train: tf.data.Dataset
    validation: tf.data.Dataset
    test: tf.data.Dataset | None
    num_classes: int
    image_shape: tuple[int, int, int]
    class_names: tuple[str, ...]
    num_train: int
    num_validation: int
    num_test: int
    source: str
    batch_size: int
    seed: int = 0
    validation_split: float = 0.1
    test_split: float = 0.2


def model_io(model: object) -> tuple[tuple[int, int, int], int]:
    """The ``(H, W, C)`` input and the number of output units of a built Keras model.

    Data is fitted to the model rather than the other way round, so the spec stays the
    single source of truth for sizes.
    """
    input_shape = tuple(model.input_shape[1:])  # type: ignore[attr-defined]
    units = model.output_shape[-1]  # type: ignore[attr-defined]
    if len(input_shape) != 3 or any(not isinstance(d, int) for d in input_shape):
        raise DataError(
            "Training needs a model with a concrete (H, W, C) image input. "
            f"Received: input_shape={input_shape}; give sizes with --input H=..,W=.."
        )
    return input_shape, int(units)  # type: ignore[return-value]


def stratified_split(
    labels: np.ndarray, validation: float, test: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train / validation / test indices with each class in the same proportions.

    Done per class with numpy rather than scikit-learn's ``train_test_split`` because
    that refuses classes with a single member, which small user folders have.

    >>> tr, va, te = stratified_split(np.repeat(np.arange(2), 10), 0.1, 0.2, seed=0)
    >>> len(tr), len(va), len(te)
    (14, 2, 4)
    """
    rng = np.random.default_rng(seed)
    parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        n_test = round(len(members) * test)
        n_val = round(len(members) * validation)
        parts[2].append(members[:n_test])
        parts[1].append(members[n_test : n_test + n_val])
        parts[0].append(members[n_test + n_val :])
    empty = np.zeros(0, dtype=np.int64)
    train, val, tst = (np.sort(np.concatenate(p)) if p else empty for p in parts)
    return train, val, tst


def load_data(
    source: str | Path | None,
    image_shape: Sequence[int],
    *,
    num_classes: int | None = None,
    batch_size: int = 32,
    seed: int = 0,
    validation_split: float = 0.1,
    test_split: float = 0.2,
    skip_bad_images: bool = False,
) -> DataSplits:
    """Load ``source`` (None for the built-in digits) as splits fitted to ``image_shape``.

    ``num_classes`` is the model's number of output units: a data set with a different
    number of classes, or labels outside ``0..num_classes-1``, is refused here rather
    than failing obscurely inside the loss. ``test_split`` is ignored when the data
    brings its own test set (``x_test`` in an ``.npz``). Every file of an image folder is
    checked before training, so a corrupt one is named now rather than failing an epoch
    halfway; ``skip_bad_images`` leaves such files out with a warning instead.

    Raises:
        DataError: the source is missing, empty or malformed, or disagrees with the model.
    """
    h, w, c = (int(d) for d in image_shape)
    if c not in (1, 3, 4):
        raise DataError(
            f"Images need 1, 3 or 4 channels. Received: model input (H, W, C)=({h}, {w}, {c})"
        )
    check_fits(inspect_data(source, skip_bad_images), (h, w, c), num_classes, "the model")
    builder = _Builder((h, w, c), batch_size, seed, validation_split, test_split, skip_bad_images)
    if source is None:
        return builder.digits(num_classes)
    path = Path(source)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory; {EXPECTED_SOURCE}")
    if path.is_dir():
        return builder.folder(path, num_classes)
    if path.suffix.lower() == ".npz":
        return builder.npz(path, num_classes)
    raise DataError(f"{path}: not a folder or an .npz file; {EXPECTED_SOURCE}")


def load_image_files(paths: Sequence[Path], image_shape: Sequence[int]) -> np.ndarray:
    """Decode image files into a float32 ``(N, H, W, C)`` batch in [0, 1].

    Uses the same decode and bilinear resize as ``image_dataset_from_directory``, so a
    model sees a file at prediction time exactly as it saw its training images; channels
    follow the rule of ``builders.datainfo`` (grey feeds colour, nothing else converts).
    """
    h, w, c = (int(d) for d in image_shape)
    images = []
    for path in paths:
        try:
            raw = tf.io.read_file(str(path))
            image = tf.io.decode_image(raw, expand_animations=False)
        except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as exc:
            raise DataError(
                f"{path}: cannot be read as an image ({exc.message.strip()}); "
                f"expected one of {', '.join(IMAGE_SUFFIXES)}"
            ) from None
        found = int(image.shape[-1])
        if not channels_convert(found, c):
            raise DataError(
                f"{path}: a {found}-channel image, but the model takes {c} channel"
                f"{'s' if c != 1 else ''}; convert the image to {c} channel{'s' if c != 1 else ''}"
            )
        if found != c:
            image = tf.tile(image, [1, 1, c])
        images.append(tf.image.resize(tf.cast(image, tf.float32), (h, w)) / 255.0)
    return np.stack([i.numpy() for i in images]) if images else np.zeros((0, h, w, c))


@dataclass(frozen=True)
class _Builder:
    image_shape: tuple[int, int, int]
    batch_size: int
    seed: int
    validation_split: float
    test_split: float
    skip_bad_images: bool = False

    def digits(self, num_classes: int | None) -> DataSplits:
        from sklearn.datasets import load_digits

        bunch = load_digits()
        # 16 is the top of the digits' 17 grey levels.
        x = (bunch.images.astype(np.float32) / 16.0)[..., None]
        y = bunch.target.astype(np.int32)
        names = tuple(str(n) for n in bunch.target_names)
        self._check_class_count(
            "the built-in digits (sklearn.datasets.load_digits)", 10, num_classes
        )
        return self._from_arrays(x, y, None, names, "digits")

    def npz(self, path: Path, num_classes: int | None) -> DataSplits:
        try:
            with path.open("rb") as handle, np.load(handle, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
            raise DataError(
                f"{path}: not a readable .npz archive, corrupt or truncated ({exc})"
            ) from None
        missing = [key for key in ("x_train", "y_train") if key not in arrays]
        if missing:
            raise DataError(
                f"{path}: missing {', '.join(missing)}; the .npz must hold x_train "
                f"(N, H, W) or (N, H, W, C) images and y_train (N,) integer labels. "
                f"Received keys: {sorted(arrays)}"
            )
        if ("x_test" in arrays) != ("y_test" in arrays):
            raise DataError(f"{path}: x_test and y_test must be given together or not at all")
        x, y = _checked_pair(path, arrays["x_train"], arrays["y_train"], "train")
        test = None
        if "x_test" in arrays:
            test = _checked_pair(path, arrays["x_test"], arrays["y_test"], "test")
            if test[0].shape[1:] != x.shape[1:]:
                raise DataError(
                    f"{path}: x_test images must have the shape of x_train images. "
                    f"Received: x_train {x.shape[1:]}, x_test {test[0].shape[1:]}"
                )
        labels = y if test is None else np.concatenate([y, test[1]])
        classes = num_classes if num_classes is not None else int(labels.max()) + 1
        if labels.min() < 0 or labels.max() >= classes:
            raise DataError(
                f"{path}: labels must lie in 0..{classes - 1} (the model has {classes} "
                f"output units). Received: labels from {labels.min()} to {labels.max()}"
            )
        names = tuple(str(i) for i in range(classes))
        return self._from_arrays(x, y, test, names, str(path), classes)

    def folder(self, path: Path, num_classes: int | None) -> DataSplits:
        scan = scan_folder(path, self.skip_bad_images)
        class_dirs, files = scan.class_names, list(scan.files)
        self._check_class_count(
            f"{path} ({len(class_dirs)} class subfolders)", len(class_dirs), num_classes
        )
        labels = np.array(scan.labels, dtype=np.int32)
        train, val, test = stratified_split(
            labels, self.validation_split, self.test_split, self.seed
        )
        h, w, c = self.image_shape

        def decode(file: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            # The decode and bilinear resize of keras.utils.image_dataset_from_directory.
            image = tf.io.decode_image(tf.io.read_file(file), channels=c, expand_animations=False)
            image = tf.image.resize(image, (h, w))
            image.set_shape((h, w, c))
            return image / 255.0, label

        def subset(indices: np.ndarray) -> tf.data.Dataset:
            chosen = (np.array(files)[indices], labels[indices])
            ds = tf.data.Dataset.from_tensor_slices(chosen)
            return ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE)

        return self._splits(
            (subset(train), len(train)),
            (subset(val), len(val)),
            (subset(test), len(test)),
            tuple(class_dirs),
            str(path),
        )

    def _check_class_count(self, what: str, found: int, expected: int | None) -> None:
        if expected is not None and found != expected:
            raise DataError(
                f"{what} has {found} classes but the model's output layer has {expected} "
                "units; make the last layer's units equal the number of classes"
            )

    def _from_arrays(
        self,
        x: np.ndarray,
        y: np.ndarray,
        test: tuple[np.ndarray, np.ndarray] | None,
        names: tuple[str, ...],
        source: str,
        num_classes: int | None = None,
    ) -> DataSplits:
        if test is None:
            tr, va, te = stratified_split(y, self.validation_split, self.test_split, self.seed)
            test = (x[te], y[te])
        else:
            share = self.validation_split / (1 - self.test_split)
            tr, va, _ = stratified_split(y, share, 0.0, self.seed)
        fit = self._fit_to_input
        return self._splits(
            (fit(x[tr], y[tr]), len(tr)),
            (fit(x[va], y[va]), len(va)),
            (fit(*test), len(test[1])),
            names,
            source,
            num_classes,
        )

    def _fit_to_input(self, x: np.ndarray, y: np.ndarray) -> tf.data.Dataset:
        """Resize (the built-in digits only: ``check_fits`` refused arrays of another size) and
        copy grey into colour channels inside tf.data, so large arrays are never copied whole."""
        h, w, c = self.image_shape
        source_c = x.shape[-1]
        if not channels_convert(source_c, c):
            raise DataError(f"Cannot convert {source_c}-channel images to the model's {c} channels")

        def prepare(image: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            image = tf.image.resize(image, (h, w)) if image.shape[:2] != (h, w) else image
            if source_c != c:
                image = tf.tile(image, [1, 1, c])
            return tf.clip_by_value(image, 0.0, 1.0), label

        ds = tf.data.Dataset.from_tensor_slices((x, y))
        return ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)

    def _splits(
        self,
        train: tuple[tf.data.Dataset, int],
        val: tuple[tf.data.Dataset, int],
        test: tuple[tf.data.Dataset, int],
        names: tuple[str, ...],
        source: str,
        num_classes: int | None = None,
    ) -> DataSplits:
        if train[1] == 0 or val[1] == 0:
            raise DataError(
                f"{source}: too few images to split: {train[1]} for training and {val[1]} "
                f"for validation (validation_split={self.validation_split}, "
                f"test_split={self.test_split})"
            )
        autotune = tf.data.AUTOTUNE
        # Reshuffled each epoch, but the sequence of orders is fixed by the seed.
        train_ds = (
            train[0]
            .cache()
            .shuffle(train[1], seed=self.seed, reshuffle_each_iteration=True)
            .batch(self.batch_size)
            .prefetch(autotune)
        )

        def evaluation(ds: tf.data.Dataset) -> tf.data.Dataset:
            return ds.cache().batch(self.batch_size).prefetch(autotune)

        return DataSplits(
            train=train_ds,
            validation=evaluation(val[0]),
            test=evaluation(test[0]) if test[1] else None,
            num_classes=num_classes if num_classes is not None else len(names),
            image_shape=self.image_shape,
            class_names=names,
            num_train=train[1],
            num_validation=val[1],
            num_test=test[1],
            source=source,
            batch_size=self.batch_size,
            seed=self.seed,
            validation_split=self.validation_split,
            test_split=self.test_split,
        )


def _checked_pair(
    path: Path, x: np.ndarray, y: np.ndarray, part: str
) -> tuple[np.ndarray, np.ndarray]:
    """Validate one ``x_*``/``y_*`` pair and bring it to float32 NHWC in [0, 1]."""
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3, 4):
        raise DataError(
            f"{path}: x_{part} must have shape (N, H, W) or (N, H, W, C) with C in 1, 3, 4. "
            f"Received: x_{part}.shape={x.shape}"
        )
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(
            f"{path}: y_{part} must be integer class labels of shape (N,), not one-hot. "
            f"Received: y_{part}.shape={y.shape}"
        )
    if len(x) != len(y):
        raise DataError(
            f"{path}: x_{part} and y_{part} must have one label per image. "
            f"Received: {len(x)} images, {len(y)} labels"
        )
    if len(x) == 0:
        raise DataError(f"{path}: x_{part} holds no images")
    if not np.issubdtype(y.dtype, np.integer) and not np.all(np.mod(y, 1) == 0):
        raise DataError(f"{path}: y_{part} must hold integer class labels")
    if np.issubdtype(x.dtype, np.integer):
        x = x.astype(np.float32) / 255.0
    else:
        x = x.astype(np.float32)
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        if bad:
            raise DataError(
                f"{path}: x_{part} holds {bad} non-finite values (NaN or infinity); "
                "clean or drop those images"
            )
        low, high = float(x.min()), float(x.max())
        if low < 0 or high > 1:
            raise DataError(
                f"{path}: float x_{part} must lie in [0, 1] (store uint8 for 0..255). "
                f"Received: values from {low} to {high}"
            )
    return x, y.astype(np.int32)
