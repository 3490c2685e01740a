"""The spec file's schema: pydantic models whose JSON Schema is what ``archspec schema`` prints.

Layers are a discriminated union on ``type``, so a wrong field is reported against one layer
kind (``layers[3].kernel``) rather than once per kind in the union.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import Field, PrivateAttr, field_validator, model_validator

from .layers import LAYER_CLASSES, Augmentation, IntExpr
from .layers.base import NumExpr, StrictModel
from .training_config import TrainConfig

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
_NAME = re.compile(NAME_PATTERN)
RESERVED_NAMES = frozenset({"input", "min", "max"})
_VARIANT_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")


class BlockUse(StrictModel):
    """Instantiates a named block, ``repeat`` times in a chain: ``{type: block, block: res}``."""

    type: Literal["block"]
    block: str = Field(description="Name of a block defined under blocks:.")
    name: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$", max_length=100)
    inputs: list[str] | None = Field(None, min_length=1, max_length=1)
    args: dict[str, NumExpr] = Field(default_factory=dict, description="Block arguments.")
    repeat: IntExpr = Field(1, description="Chained copies, named name.1, name.2, ...")


Layer = Annotated[Union[(*LAYER_CLASSES, BlockUse)], Field(discriminator="type")]  # type: ignore[valid-type]


class InputSpec(StrictModel):
    """The model input, channels last, batch excluded: ``[32, 32, 1]`` or ``[H, W, 3]``."""

    shape: list[IntExpr] = Field(min_length=1, max_length=4)


class SymbolSpec(StrictModel):
    """Bounds and a note for a free size such as H."""

    min: int | None = Field(None, ge=1, description="Smallest size considered.")
    max: int | None = Field(None, ge=1, description="Largest size considered.")
    doc: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> SymbolSpec:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min must be <= max. Received: min={self.min}, max={self.max}")
        return self


class BlockArg(StrictModel):
    """A typed block argument; without a default it must be given at every use."""

    type: Literal["int"] = "int"
    default: IntExpr | None = None
    doc: str | None = None


class BlockDef(StrictModel):
    """A reusable sub-graph. Its first layer reads the block input, named ``input`` inside."""

    args: dict[str, Union[BlockArg, Literal["int"], IntExpr, None]] = Field(
        default_factory=dict,
        description="Arguments: `int` (required), a default value, or {type, default, doc}.",
    )
    layers: list[Layer] = Field(min_length=1)
    doc: str | None = None

    @field_validator("args")
    @classmethod
    def _shorthand(cls, value: dict[str, Any]) -> dict[str, BlockArg]:
        """``args: {filters: int, stride: 1}`` is short for typed args with defaults."""
        out = {}
        for key, arg in value.items():
            if not _NAME.fullmatch(key) or key in RESERVED_NAMES:
                raise ValueError(f"{key!r} is not a valid argument name")
            if isinstance(arg, BlockArg):
                out[key] = arg
            elif arg == "int" or arg is None:
                out[key] = BlockArg()
            else:
                out[key] = BlockArg(default=arg)
        return out


class VariantSpec(StrictModel):
    """A named member of a family: params and the input shape overridden, all else shared."""

    params: dict[str, NumExpr] = Field(
        default_factory=dict, description="Params this variant sets: {width: 1.1, depth: 1.2}."
    )
    input: InputSpec | None = Field(None, description="The variant's own input shape.")
    doc: str | None = None


class Spec(StrictModel):
    """A whole architecture: input, named sizes and hyperparameters, layers, training."""

    archspec: Literal[1] = Field(description="Spec format version.")
    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$", max_length=100)
    description: str | None = None
    input: InputSpec
    symbols: dict[str, SymbolSpec] = Field(
        default_factory=dict, description="Free sizes (and hyperparameters) with bounds."
    )
    params: dict[str, NumExpr] = Field(
        default_factory=dict,
        description="Named values usable in expressions: width: 64, or exact decimals: 1.1.",
    )
    blocks: dict[str, BlockDef] = Field(default_factory=dict)
    layers: list[Layer] = Field(min_length=1)
    output: str | None = Field(None, description="The output layer; default the last one.")
    augment: list[Augmentation] = Field(default_factory=list)
    train: TrainConfig | None = None
    variants: dict[str, VariantSpec] = Field(
        default_factory=dict,
        description="Named members of a family (EfficientNet's b0..b7): params and input "
        "overridden; `--variant NAME` picks one.",
    )

    _source: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _variants_set_known_params(self) -> Spec:
        for name, variant in self.variants.items():
            if not _VARIANT_NAME.fullmatch(name):
                raise ValueError(f"variant name {name!r} may hold letters, digits, '_', '-', '.'")
            for key in variant.params:
                if key not in self.params:
                    from .expr import did_you_mean

                    guess = did_you_mean(key, list(self.params))
                    raise ValueError(
                        f"variant {name!r} sets {key!r}, which is not a param of the spec"
                        + (f"; did you mean {guess!r}?" if guess else "")
                        + ". Variants override params declared under params:"
                    )
        return self

    def variant(self, name: str) -> Spec:
        """This spec as its variant ``name``: the same layers, that variant's params and input.

        Raises KeyError (with the closest name) for a variant the spec does not define.
        """
        found = self.variants.get(name)
        if found is None:
            from .expr import did_you_mean

            guess = did_you_mean(name, list(self.variants))
            known = ", ".join(self.variants) or "none"
            raise KeyError(
                f"{self.name!r} has no variant {name!r}"
                + (f"; did you mean {guess!r}?" if guess else f"; its variants: {known}")
            )
        update: dict[str, Any] = {"params": {**self.params, **found.params}}
        if found.input is not None:
            update["input"] = found.input
        return self.model_copy(update=update)

    @field_validator("symbols", "params", "blocks")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not _NAME.fullmatch(key):
                raise ValueError(f"{key!r} is not a valid name: use letters, digits and _")
            if key in RESERVED_NAMES:
                raise ValueError(f"{key!r} is reserved; choose another name")
        return value

    def __eq__(self, other: object) -> bool:
        """Two specs are equal when they say the same, wherever they were read from."""
        return isinstance(other, Spec) and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    @property
    def source(self) -> Any:
        """The loaded document (file name and positions), when the spec came from a file."""
        return self._source

    def free_symbols(self) -> list[str]:
        """Names used in the input shape that no param defines: the sizes left open."""
        from .expr import parse_expression

        names: dict[str, None] = {}  # ordered, and a set: thousands of symbols stay linear
        for entry in self.input.shape:
            if isinstance(entry, str):
                for name in sorted(parse_expression(entry).names):
                    if name not in self.params:
                        names.setdefault(name)
        for name in self.symbols:
            if name not in self.params:
                names.setdefault(name)
        return list(names)
