"""The model registry: importing this package registers every variant by its short name.

Variants outside the package (a module of your own on the Python path) are registered by naming
their modules in the environment variable GANS_MODEL_PLUGINS (comma-separated), which the
workflow sets from `model_plugins` in config/config.yaml; every `python -m gans` command then
imports them, so a suite can name their models like any other.
"""

import importlib
import os
from typing import Iterable

from gans.models import biggan  # noqa: F401  (registers "biggan")
from gans.models import cgan  # noqa: F401  (registers "cgan")
from gans.models import cogan  # noqa: F401  (registers "cogan")
from gans.models import cyclegan  # noqa: F401  (registers "cyclegan")
from gans.models import dcgan  # noqa: F401  (registers "dcgan")
from gans.models import gan  # noqa: F401  (registers "gan")
from gans.models import sagan  # noqa: F401  (registers "sagan")
from gans.models import progan  # noqa: F401  (registers "progan")
from gans.models import stylegan  # noqa: F401  (registers "stylegan")
from gans.models import wgan  # noqa: F401  (registers "wgan")
from gans.models import wgan_gp  # noqa: F401  (registers "wgan-gp")
from gans.models.base import MODELS, GANVariant, build_model

PLUGINS_VARIABLE = "GANS_MODEL_PLUGINS"


def load_model_plugins(modules: Iterable[str], export: bool = False) -> None:
    """Import modules that register variants of their own (each once; Python caches imports).

    With `export`, also name them in GANS_MODEL_PLUGINS, so that the processes this one starts
    (the workflow's jobs) import them too.
    """
    modules = list(modules)
    for name in modules:
        importlib.import_module(name)
    if export:
        os.environ[PLUGINS_VARIABLE] = ",".join(modules)


load_model_plugins(name.strip() for name in os.environ.get(PLUGINS_VARIABLE, "").split(",") if name.strip())

__all__ = ["MODELS", "GANVariant", "build_model", "load_model_plugins", "PLUGINS_VARIABLE"]
