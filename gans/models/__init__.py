"""The model registry: importing this package registers every variant by its short name."""

from gans.models import cgan  # noqa: F401  (registers "cgan")
from gans.models import dcgan  # noqa: F401  (registers "dcgan")
from gans.models import gan  # noqa: F401  (registers "gan")
from gans.models import wgan  # noqa: F401  (registers "wgan")
from gans.models import wgan_gp  # noqa: F401  (registers "wgan-gp")
from gans.models.base import MODELS, GANVariant, build_model

__all__ = ["MODELS", "GANVariant", "build_model"]
