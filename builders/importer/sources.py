"""Where a model comes from: a ``.keras`` file, or a ``keras.applications`` constructor.

A ``.keras`` file is loaded only with ``safe_mode=True``. Keras then refuses a ``Lambda`` with a
message about safe mode, not the layer's name, so the file's ``config.json`` is read first (as
JSON, nothing deserialised) and every layer no spec can hold is named before loading. A
constructor is called with ``weights=None``: nothing is ever downloaded.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from .graph import Problem

__all__ = ["SourceError", "application_names", "load_source", "scan_keras_file"]

UNSAFE_CLASSES = {"Lambda": "a Lambda runs Python code, which a spec cannot hold"}


class SourceError(ValueError):
    """The source cannot be read as a model; the message says why in one line."""


def application_names() -> list[str]:
    """Every model constructor ``keras.applications`` offers in the installed Keras."""
    import keras

    return sorted(
        name
        for name in dir(keras.applications)
        if name[:1].isupper() and callable(getattr(keras.applications, name))
    )


def scan_keras_file(path: Path) -> list[Problem]:
    """Layers of a saved model that the importer refuses, found without deserialising any."""
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise SourceError(f"{path}: not a readable .keras file ({exc})") from None
    problems: list[Problem] = []
    _scan(config, problems)
    return problems


def _scan(node: Any, problems: list[Problem]) -> None:
    if isinstance(node, list):
        for item in node:
            _scan(item, problems)
        return
    if not isinstance(node, dict):
        return
    cls = node.get("class_name")
    config = node.get("config")
    if isinstance(cls, str) and isinstance(config, dict) and "name" in config:
        module = str(node.get("module") or "")
        name = str(config["name"])
        if cls in UNSAFE_CLASSES:
            problems.append(Problem(name, cls, UNSAFE_CLASSES[cls]))
        elif module and not module.startswith("keras"):
            problems.append(
                Problem(name, cls, f"a custom class from {module!r}; the importer reads Keras's")
            )
    for key, value in node.items():
        if key != "build_config":
            _scan(value, problems)


def load_source(source: str) -> tuple[Any, str]:
    """The model and a description of where it came from; ``SourceError`` if neither kind."""
    path = Path(source)
    if path.suffix == ".keras":
        if not path.is_file():
            raise SourceError(f"{source}: no such file")
        problems = scan_keras_file(path)
        if problems:
            from .core import ImportRefused

            raise ImportRefused(problems)
        import keras

        try:
            model = keras.saving.load_model(path, compile=False, safe_mode=True)
        except Exception as exc:  # Keras raises many kinds; each is one line for the user
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SourceError(f"{source}: Keras cannot load it: {first}") from None
        return model, f"the Keras model file {path.name}"
    names = application_names()
    if source in names:
        import keras

        model = getattr(keras.applications, source)(weights=None)
        return model, f"keras.applications.{source} (weights=None)"
    from archspec.expr import did_you_mean

    guess = did_you_mean(source, names)
    hint = f"; did you mean {guess!r}?" if guess else ""
    raise SourceError(f"{source}: neither a .keras file nor a keras.applications constructor{hint}")
