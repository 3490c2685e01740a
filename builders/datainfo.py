"""What a data source holds, found without TensorFlow: image size, channels, classes.

The command line asks these questions before it imports TensorFlow, so a data set that
cannot fit the spec (wrong channels, an ``.npz`` of the wrong size, the wrong number of
classes) is refused in a fraction of a second, and a spec with free sizes can take them
from the data. ``.npz`` arrays are read by their headers only (numpy's format module);
image files by their headers (PIL), which is also how a corrupt file is found.

The rules, which ``builders.data`` applies again when it loads the pixels:

* channels must be the model's, except that grey images feed a colour model (the grey
  value is copied into each channel, which loses nothing); anything else (colour into a
  grey model, an alpha channel) would change the pixels behind the user's back;
* an image folder's images are resized to the model's (H, W), as
  ``keras.utils.image_dataset_from_directory`` does: files of mixed sizes are the norm;
* an ``.npz`` holds arrays, so its (H, W) must be the model's exactly: resizing arrays
  silently would train on data the user never looked at;
* the built-in digits (8x8 grey) are resized: they are the demonstration data every spec
  can train on.
"""

from __future__ import annotations

import warnings
import zipfile
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from builders.errors import DataError

__all__ = [
    "IMAGE_SUFFIXES",
    "DataInfo",
    "FolderScan",
    "channels_convert",
    "check_fits",
    "image_channels",
    "inspect_data",
    "scan_folder",
]

IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
"""The formats ``keras.utils.image_dataset_from_directory`` reads."""

EXPECTED_SOURCE = (
    "expected an image folder with one subfolder per class, or an .npz file with "
    "x_train and y_train (optionally x_test and y_test)"
)

_MODE_CHANNELS = {"1": 1, "L": 1, "I": 1, "F": 1, "I;16": 1, "LA": 2, "La": 2, "PA": 4}
_MODE_CHANNELS |= {"RGB": 3, "YCbCr": 3, "LAB": 3, "HSV": 3, "RGBA": 4, "RGBa": 4, "CMYK": 4}


@dataclass(frozen=True)
class DataInfo:
    """A data source's images as they are stored, before any resizing.

    ``size`` is the (H, W) every image shares, None when they differ (or are unknown);
    ``channels`` maps each channel count found to a file (or array) that has it;
    ``resizable`` whether the loader brings images to the model's (H, W) (folders and
    the built-in digits do, arrays do not).
    """

    source: str
    kind: str
    size: tuple[int, int] | None
    channels: dict[int, str]
    num_classes: int
    resizable: bool


@dataclass(frozen=True)
class FolderScan:
    """Every readable image of a class folder, with its label, size and channels."""

    class_names: tuple[str, ...]
    files: tuple[str, ...]
    labels: tuple[int, ...]
    sizes: Counter[tuple[int, int]] = field(default_factory=Counter)
    channels: dict[int, str] = field(default_factory=dict)
    """Channel count -> the first file that has it."""


def image_channels(mode: str) -> int:
    """The channels TensorFlow's decoder gives an image in PIL mode ``mode``.

    >>> image_channels("L"), image_channels("RGB"), image_channels("P")
    (1, 3, 3)
    """
    return _MODE_CHANNELS.get(mode, 3)  # palette images decode to RGB


_SCANS: dict[tuple[object, ...], FolderScan] = {}


def scan_folder(path: Path, skip_bad_images: bool = False) -> FolderScan:
    """Open every image's header under ``path/<class>/``; a corrupt file is named.

    Cached per process, so the check before TensorFlow is imported and the loading after
    it read each header once; a class folder whose files change (its modification time)
    is scanned again.
    """
    class_dirs = sorted(p.name for p in path.iterdir() if p.is_dir())
    stamps = tuple((name, (path / name).stat().st_mtime_ns) for name in class_dirs)
    key = (str(path.resolve()), skip_bad_images, stamps)
    if key in _SCANS:
        return _SCANS[key]
    from PIL import Image, UnidentifiedImageError

    if not class_dirs:
        raise DataError(
            f"{path}: no class subfolders; expected one subfolder per class "
            f"holding that class's images ({', '.join(IMAGE_SUFFIXES)})"
        )
    files: list[str] = []
    labels: list[int] = []
    sizes: Counter[tuple[int, int]] = Counter()
    channels: dict[int, str] = {}
    for index, name in enumerate(class_dirs):
        for file in sorted((path / name).rglob("*")):
            if file.suffix.lower() not in IMAGE_SUFFIXES or not file.is_file():
                continue
            try:
                with Image.open(file) as image:
                    image.verify()
                    width, height = image.size
                    count = image_channels(image.mode)
            except (OSError, SyntaxError, ValueError, UnidentifiedImageError) as exc:
                if not skip_bad_images:
                    raise DataError(
                        f"{file}: a corrupt or unreadable image ({exc}); remove it, or pass "
                        "--skip-bad-images to leave such files out"
                    ) from None
                warnings.warn(f"{file}: skipped, not a readable image ({exc})", stacklevel=2)
                continue
            files.append(str(file))
            labels.append(index)
            sizes[(height, width)] += 1
            channels.setdefault(count, str(file))
    if not files:
        raise DataError(
            f"{path}: no images in its class subfolders; expected files ending "
            f"in {', '.join(IMAGE_SUFFIXES)}"
        )
    scan = FolderScan(tuple(class_dirs), tuple(files), tuple(labels), sizes, channels)
    _SCANS[key] = scan
    return scan


def inspect_data(source: str | Path | None, skip_bad_images: bool = False) -> DataInfo:
    """The size, channels and classes of ``source`` (None: the built-in digits)."""
    if source is None:
        return DataInfo("digits", "digits", (8, 8), {1: "digits"}, 10, True)
    path = Path(source)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory; {EXPECTED_SOURCE}")
    if path.is_dir():
        scan = scan_folder(path, skip_bad_images)
        size = next(iter(scan.sizes)) if len(scan.sizes) == 1 else None
        return DataInfo(str(path), "folder", size, scan.channels, len(scan.class_names), True)
    if path.suffix.lower() == ".npz":
        return _npz_info(path)
    raise DataError(f"{path}: not a folder or an .npz file; {EXPECTED_SOURCE}")


def _npz_info(path: Path) -> DataInfo:
    """Shapes from the arrays' headers; the labels (small) are read for the class count."""
    import numpy as np

    try:
        with zipfile.ZipFile(path) as archive:
            names = {n.removesuffix(".npy"): n for n in archive.namelist()}
            if "x_train" not in names or "y_train" not in names:
                return DataInfo(str(path), "npz", None, {}, 0, False)  # builders.data says why
            with archive.open(names["x_train"]) as member:
                major, _ = np.lib.format.read_magic(member)
                header = np.lib.format.read_array_header_1_0
                if major > 1:
                    header = np.lib.format.read_array_header_2_0
                shape = header(member)[0]
            classes = 0
            for part in ("y_train", "y_test"):
                if part in names:
                    with archive.open(names[part]) as member:
                        labels = np.lib.format.read_array(member, allow_pickle=False)
                    if labels.size and np.issubdtype(labels.dtype, np.number):
                        classes = max(classes, int(np.nanmax(labels)) + 1)
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(
            f"{path}: not a readable .npz archive, corrupt or truncated ({exc})"
        ) from None
    if len(shape) == 3:
        shape = (*shape, 1)
    if len(shape) != 4:
        return DataInfo(str(path), "npz", None, {}, classes, False)  # builders.data says why
    size, channels = (int(shape[1]), int(shape[2])), {int(shape[3]): "x_train"}
    return DataInfo(str(path), "npz", size, channels, classes, False)


def check_fits(
    info: DataInfo, image_shape: Sequence[int], units: int | None, what: str = "the spec"
) -> None:
    """Refuse data that the model (``what``: "the spec" or "the model") cannot take.

    Raises:
        DataError: one line naming the data, the mismatch and the fix.
    """
    h, w, c = (int(d) for d in image_shape)
    if units is not None and info.kind == "folder" and units != info.num_classes:
        raise DataError(
            f"{info.source} ({info.num_classes} class subfolders) has {info.num_classes} "
            f"classes but {what}'s output layer has {units} units; make the last layer's "
            "units equal the number of classes"
        )
    if units is not None and info.kind == "npz" and info.num_classes > units:
        raise DataError(
            f"{info.source}: labels must lie in 0..{units - 1} ({what} has {units} output "
            f"units). Received: labels up to {info.num_classes - 1}"
        )
    wrong = {n: f for n, f in info.channels.items() if not channels_convert(n, c)}
    if wrong:
        found, example = next(iter(wrong.items()))
        stored = "images" if info.kind == "folder" else "arrays"
        where = example if info.kind == "folder" else f"{info.source}: {example}"
        raise DataError(
            f"{where}: {found}-channel images, but {what} takes {_channels(c)}; convert the "
            f"{stored} to {_channels(c)}, or give {what} a {found}-channel input"
        )
    if info.kind == "npz" and info.size is not None and info.size != (h, w):
        raise DataError(
            f"{info.source}: x_train images are {info.size[0]}x{info.size[1]} but {what} takes "
            f"{h}x{w}; resize the arrays to {h}x{w} (arrays are never resized silently), or "
            f"give {what} a {info.size[0]}x{info.size[1]} input"
        )


def channels_convert(found: int, wanted: int) -> bool:
    """Whether images with ``found`` channels may feed a model taking ``wanted``.

    >>> channels_convert(3, 3), channels_convert(1, 3), channels_convert(3, 1)
    (True, True, False)
    """
    return found == wanted or (found == 1 and wanted in (3, 4))


def _channels(count: int) -> str:
    return f"{count} channel{'s' if count != 1 else ''}"
