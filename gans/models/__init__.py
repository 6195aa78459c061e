"""The model registry: importing this package registers every variant by its short name."""

from gans.models import dcgan  # noqa: F401  (registers "dcgan")
from gans.models.base import MODELS, GANVariant, build_model

__all__ = ["MODELS", "GANVariant", "build_model"]
