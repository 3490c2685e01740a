"""Augmentation kinds for the spec's ``augment:`` list.

They become Keras preprocessing layers at the model's input: random in training, the identity
at inference (except cropping, which centre-crops at inference and so changes the input shape
the rest of the network sees — the engine accounts for that).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import Field

from .base import Args, Context, IntExpr, LayerError, Shape, StrictModel

Factor = Union[Annotated[float, Field(ge=0, le=1)], list[Annotated[float, Field(ge=-1, le=1)]]]
"""A fraction f (meaning the range [-f, f]) or an explicit [low, high] range."""

ValueRange = list[float]


@dataclass(frozen=True)
class AugmentArgs(Args):
    """One augmentation resolved: its kind and every field, defaults applied, ranges as tuples."""

    type: str
    values: Mapping[str, Any]


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


class _Augment(StrictModel):
    type: str
    name: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$", max_length=100)
    needs_color: ClassVar[bool] = False

    def resolve(self, ctx: Context, shape: Shape) -> AugmentArgs:
        if self.needs_color and shape[-1] != 3:
            raise LayerError(
                f"{self.type} works on RGB images (3 channels), the input has {shape[-1]}",
                None,
                "needs-rgb",
            )
        values = {
            key: _frozen(getattr(self, key)) for key in type(self).model_fields if key != "name"
        }
        values.pop("type")
        return AugmentArgs(self.type, values)

    def infer(self, args: AugmentArgs, shape: Shape) -> Shape:
        """The shape the layers after it see: unchanged, except for cropping."""
        return shape


class RandomFlip(_Augment):
    """Mirroring: the slides' flipping."""

    type: Literal["random_flip"]
    mode: Literal["horizontal", "vertical", "horizontal_and_vertical"] = "horizontal"


class RandomTranslation(_Augment):
    """Shifting by a fraction of the height and width."""

    type: Literal["random_translation"]
    height: Factor = 0.1
    width: Factor = 0.1
    fill_mode: Literal["reflect", "wrap", "constant", "nearest"] = "reflect"


class RandomRotation(_Augment):
    """Rotation by a fraction of a full turn (0.1 is up to +-36 degrees)."""

    type: Literal["random_rotation"]
    factor: Factor = 0.1
    fill_mode: Literal["reflect", "wrap", "constant", "nearest"] = "reflect"


class RandomZoom(_Augment):
    """Scale: zoom in or out by a fraction; width follows height when omitted."""

    type: Literal["random_zoom"]
    height: Factor = 0.1
    width: Factor | None = None
    fill_mode: Literal["reflect", "wrap", "constant", "nearest"] = "reflect"


class RandomShear(_Augment):
    type: Literal["random_shear"]
    x_factor: Factor = 0.1
    y_factor: Factor = 0.1


class RandomContrast(_Augment):
    """Light variation: contrast scaled by a random factor in [1-f, 1+f]."""

    type: Literal["random_contrast"]
    factor: Factor = 0.2
    value_range: ValueRange = Field([0.0, 1.0], min_length=2, max_length=2)


class RandomBrightness(_Augment):
    """Light variation: brightness shifted by up to f of the value range."""

    type: Literal["random_brightness"]
    factor: Factor = 0.2
    value_range: ValueRange = Field([0.0, 1.0], min_length=2, max_length=2)


class RandomHue(_Augment):
    """Colour variation (RGB inputs)."""

    type: Literal["random_hue"]
    factor: Factor = 0.1
    value_range: ValueRange = Field([0.0, 1.0], min_length=2, max_length=2)
    needs_color: ClassVar[bool] = True


class RandomSaturation(_Augment):
    """Colour variation (RGB inputs)."""

    type: Literal["random_saturation"]
    factor: Factor = 0.2
    value_range: ValueRange = Field([0.0, 1.0], min_length=2, max_length=2)
    needs_color: ClassVar[bool] = True


class RandomGaussianBlur(_Augment):
    type: Literal["random_gaussian_blur"]
    factor: Factor = 0.5
    kernel_size: int = Field(3, ge=1, le=31)
    value_range: ValueRange = Field([0.0, 1.0], min_length=2, max_length=2)


class RandomErasing(_Augment):
    """Cutout-style occlusion of a random rectangle."""

    type: Literal["random_erasing"]
    factor: Factor = 0.5
    scale: list[float] = Field([0.02, 0.33], min_length=2, max_length=2)
    value_range: ValueRange = Field([0.0, 1.0], min_length=2, max_length=2)


class GaussianNoise(_Augment):
    type: Literal["gaussian_noise"]
    stddev: float = Field(0.05, ge=0)


class RandomCrop(_Augment):
    """Crops a random height x width window in training and the centre one at inference."""

    type: Literal["random_crop"]
    height: IntExpr
    width: IntExpr

    def resolve(self, ctx: Context, shape: Shape) -> AugmentArgs:
        if len(shape) != 3:
            raise LayerError(
                "random_crop needs an image input (height, width, channels)", None, "rank-mismatch"
            )
        height = ctx.count(self.height, "height")
        width = ctx.count(self.width, "width")
        return AugmentArgs(self.type, {"height": height, "width": width})

    def infer(self, args: AugmentArgs, shape: Shape) -> Shape:
        return (args.values["height"], args.values["width"], shape[-1])


Augmentation = Annotated[
    RandomFlip
    | RandomTranslation
    | RandomRotation
    | RandomZoom
    | RandomShear
    | RandomContrast
    | RandomBrightness
    | RandomHue
    | RandomSaturation
    | RandomGaussianBlur
    | RandomErasing
    | GaussianNoise
    | RandomCrop,
    Field(discriminator="type"),
]
