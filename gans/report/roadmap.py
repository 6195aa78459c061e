"""Where each model sits on the roadmap: reports list models by publication year."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

from gans.layout import REAL, is_floor  # the real-vs-real floors, shown after every model

# The eleven roadmap models, in roadmap order, with their years; used when a model is not
# registered (yet) or its class leaves `year` unset.
ROADMAP: tuple[tuple[str, int], ...] = (
    ("gan", 2014),
    ("cgan", 2014),
    ("dcgan", 2015),
    ("cogan", 2016),
    ("wgan", 2017),
    ("wgan-gp", 2017),
    ("cyclegan", 2017),
    ("progan", 2017),
    ("sagan", 2018),
    ("biggan", 2018),
    ("stylegan", 2019),
)
ROADMAP_YEARS = dict(ROADMAP)
ROADMAP_INDEX = {name: i for i, (name, _) in enumerate(ROADMAP)}


def _registered_class(model: str) -> Optional[type]:
    from gans.models import MODELS

    return MODELS.get(model) if model in MODELS else None


def model_year(model: str) -> Optional[int]:
    """The model's year: MODELS[model].year when registered and set, else the roadmap table."""
    cls = _registered_class(model)
    if cls is not None and getattr(cls, "year", 0):
        return int(cls.year)
    return ROADMAP_YEARS.get(model)


def is_conditional(model: str) -> bool:
    cls = _registered_class(model)
    return cls is not None and getattr(cls, "task", "") == "conditional"


def mixes_styles(model: str) -> bool:
    """Whether the model can mix styles (`mix_styles`): it gets a style-mixing figure."""
    cls = _registered_class(model)
    return cls is not None and callable(getattr(cls, "mix_styles", None))


def protocol_notes(model: str) -> str:
    """The class's `protocol_notes` (its documented deviations), or "" when it has none."""
    cls = _registered_class(model)
    return str(getattr(cls, "protocol_notes", "") or "") if cls is not None else ""


def config_deviations(model: str, overrides: Mapping[str, Any]) -> list[str]:
    """What a suite's config overrides turn off or change of the model's method (the class's
    `deviations` of its resolved config); none for an unregistered model."""
    cls = _registered_class(model)
    return list(cls.deviations(cls.resolve_config(overrides))) if cls is not None else []


def roadmap_key(model: str) -> tuple[int, int, str]:
    """Sort key: year, then roadmap position, then name; the real floors go last."""
    if is_floor(model):
        return (10_000, 0 if model == REAL else 1, model)
    year = model_year(model)
    return (year if year is not None else 9_999, ROADMAP_INDEX.get(model, len(ROADMAP)), model)


def roadmap_order(models: Iterable[str]) -> list[str]:
    """The distinct models in roadmap order (the real floor last)."""
    return sorted(set(models), key=roadmap_key)
