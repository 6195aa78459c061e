"""Every metric key the benchmark records, with what the report needs to know about it.

One entry per key: the label tables and figures print, whether lower is better, which kinds of
evaluation produce it, whether result tables show it, and the range its values can take. The
store, the tables, the figures and the report layout read this table instead of keeping their
own key lists. Entries are in table-column order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping, Optional, Union

# The kinds of evaluation a metric applies to.
IMAGE = "image"                          # image samples under a feature extractor
CONDITIONAL_IMAGE = "conditional-image"  # labelled (class-conditional) image samples
TOY = "toy"                              # 2D points against a Gaussian mixture
COST = "cost"                            # training cost of a run
COUPLED = "coupled"                      # pairs of two-domain images from one latent
TRANSLATION = "translation"              # held-out images translated between two domains
KINDS = (IMAGE, CONDITIONAL_IMAGE, TOY, COST, COUPLED, TRANSLATION)

# The evaluation each task of gans/tasks.py gets on image data.
TASK_KINDS: Mapping[str, str] = MappingProxyType({
    "unconditional": IMAGE, "conditional": CONDITIONAL_IMAGE, "coupled": COUPLED,
    "translation": TRANSLATION})

# What a two-domain metric needs from the domain task (gans.data.domains.DomainTask flags).
KNOWN_TRANSFORM = "known_transform"  # domain B is a known function of domain A
HAS_CLASSES = "has_classes"          # each domain is one class of the dataset

# Symbolic upper bounds: K is the number of classes (image data) or of modes (toy data).
NUM_CLASSES = "K"
LOG_NUM_CLASSES = "log K"
Bound = Union[float, str]


@dataclass(frozen=True)
class Domain:
    """The closed range [low, high] of a metric's values; infinite ends are open."""

    low: Bound
    high: Bound

    def bounds(self, num_classes: Optional[int] = None) -> tuple[float, float]:
        """Numeric (low, high), with K resolved to `num_classes` (needed when the range uses K)."""
        return self._resolve(self.low, num_classes), self._resolve(self.high, num_classes)

    def known_bounds(self, num_classes: Optional[int] = None) -> tuple[float, float]:
        """(low, high) as far as known: a bound in K is open (-inf, inf) when K is unknown, so
        the report can clip intervals to the domain without every extractor's class count."""
        def known(bound: Bound, unknown: float) -> float:
            return unknown if isinstance(bound, str) and num_classes is None \
                else self._resolve(bound, num_classes)

        return known(self.low, -math.inf), known(self.high, math.inf)

    def contains(self, value: float, num_classes: Optional[int] = None) -> bool:
        low, high = self.bounds(num_classes)
        return low <= value <= high

    @staticmethod
    def _resolve(bound: Bound, num_classes: Optional[int]) -> float:
        if isinstance(bound, (int, float)):
            return float(bound)
        if num_classes is None:
            raise ValueError(f"the bound {bound!r} needs the number of classes")
        return {NUM_CLASSES: float(num_classes), LOG_NUM_CLASSES: math.log(num_classes)}[bound]


NON_NEGATIVE = Domain(0.0, math.inf)
UNIT = Domain(0.0, 1.0)
ANY_REAL = Domain(-math.inf, math.inf)


@dataclass(frozen=True)
class Metric:
    """What the report knows about one metric key."""

    key: str
    label: str                       # column header in tables, axis label in figures
    lower_is_better: Optional[bool]  # None: no better direction (a within-run spread)
    kinds: frozenset[str]            # the evaluations that produce it
    domain: Domain
    shown: bool = True               # False: recorded in the store, left out of tables
    needs: Optional[str] = None      # a domain-task flag it needs (KNOWN_TRANSFORM, HAS_CLASSES)
    protocol: str = ""               # how it is computed, printed under the tables that show it


_IMAGE_KINDS = frozenset({IMAGE, CONDITIONAL_IMAGE, COUPLED, TRANSLATION})
_PAIR_KINDS = frozenset({COUPLED, TRANSLATION})
_PAIR = ("a pair is a domain-A and a domain-B image made from one input (coupled: a and b of one "
         "z; translation: a held-out a and G(a)); the domain task's known transform T maps the "
         "A image to where the B image should be")

_ENTRIES = (
    Metric("fid", "FID", True, _IMAGE_KINDS, NON_NEGATIVE),
    # KID is an unbiased estimate of a non-negative quantity: a single estimate can be negative.
    Metric("kid_mean", "KID", True, _IMAGE_KINDS, ANY_REAL),
    Metric("kid_std", "KID std", None, _IMAGE_KINDS, NON_NEGATIVE, shown=False),
    Metric("is_mean", "IS", False, _IMAGE_KINDS, Domain(1.0, NUM_CLASSES)),
    Metric("is_std", "IS std", None, _IMAGE_KINDS, NON_NEGATIVE, shown=False),
    Metric("precision", "Precision", False, _IMAGE_KINDS, UNIT),
    Metric("recall", "Recall", False, _IMAGE_KINDS, UNIT),
    Metric("density", "Density", False, _IMAGE_KINDS, NON_NEGATIVE),
    Metric("coverage", "Coverage", False, _IMAGE_KINDS, UNIT),
    Metric("class_accuracy", "Class acc.", False, frozenset({CONDITIONAL_IMAGE}), UNIT),
    Metric("intra_fid", "Intra-FID", True, frozenset({CONDITIONAL_IMAGE}), NON_NEGATIVE),
    Metric("fid_b", "FID (b)", True, frozenset({COUPLED}), NON_NEGATIVE,
           protocol="FID (b), KID (b): the domain-B images of the pairs against the real domain-B "
                    "test images (FID, KID: the domain-A images against the real domain-A ones)"),
    Metric("kid_b", "KID (b)", True, frozenset({COUPLED}), ANY_REAL),
    Metric("fid_reverse_translated", "FID (B→A)", True, frozenset({TRANSLATION}), NON_NEGATIVE,
           protocol="FID (B→A), KID (B→A): F(b) of the held-out domain-B images against the real "
                    "domain-A test images (FID, KID: G(a) against the real domain-B ones)"),
    Metric("kid_reverse_translated", "KID (B→A)", True, frozenset({TRANSLATION}), ANY_REAL),
    Metric("pair_agreement", "Pair agreement", False, _PAIR_KINDS, UNIT, needs=KNOWN_TRANSFORM,
           protocol="Pair agreement: share of pixels where T(A image) and the B image agree after "
                    f"thresholding both at 128 of 255; {_PAIR}"),
    Metric("pair_l1", "Pair L1", True, _PAIR_KINDS, UNIT, needs=KNOWN_TRANSFORM,
           protocol="Pair L1: mean |T(A image) - B image| with pixels in [0, 1] (translation: "
                    "the L1 of G(a) to the true T(a), a pair training never saw)"),
    Metric("translation_accuracy", "Target-class acc.", False, _PAIR_KINDS, UNIT, needs=HAS_CLASSES,
           protocol="Target-class acc.: share of the B images of the pairs (coupled: b; "
                    "translation: G(a)) the domain classifier assigns to domain B's class"),
    Metric("cycle_l1", "Cycle L1", True, frozenset({TRANSLATION}), UNIT,
           protocol="Cycle L1: mean |F(G(a)) - a| and |G(F(b)) - b| over the held-out images of "
                    "both domains, pixels in [0, 1]"),
    Metric("modes_covered", "Modes covered", False, frozenset({TOY}), Domain(0.0, NUM_CLASSES)),
    Metric("high_quality_share", "HQ share", False, frozenset({TOY}), UNIT),
    Metric("reverse_kl", "Reverse KL", True, frozenset({TOY}), Domain(0.0, LOG_NUM_CLASSES)),
    Metric("wall_time_s", "Wall time (s)", True, frozenset({COST}), NON_NEGATIVE),
    Metric("images_per_s", "Images/s", False, frozenset({COST}), NON_NEGATIVE),
    Metric("peak_rss_mb", "Peak RSS (MB)", True, frozenset({COST}), NON_NEGATIVE),
    Metric("cpu_time_s", "CPU time (s)", True, frozenset({COST}), NON_NEGATIVE),
)

METRICS: Mapping[str, Metric] = MappingProxyType({entry.key: entry for entry in _ENTRIES})


def get(key: str) -> Metric:
    """The registered metric; an unknown key raises KeyError naming the known ones."""
    try:
        return METRICS[key]
    except KeyError:
        raise KeyError(f"unknown metric {key!r} (known: {', '.join(METRICS)})") from None


def keys_for(kind: str, domain_task: Optional[object] = None) -> tuple[str, ...]:
    """The keys an evaluation of this kind produces, in table order; with a domain task, only
    those whose needs it meets (a pair metric needs a known transform)."""
    if kind not in KINDS:
        raise ValueError(f"unknown evaluation kind {kind!r} (known: {', '.join(KINDS)})")
    return tuple(key for key, entry in METRICS.items() if kind in entry.kinds
                 and (domain_task is None or applies(key, domain_task)))


def applies(key: str, domain_task: object) -> bool:
    """Whether a metric can be computed on a domain task (gans.data.domains.DomainTask)."""
    needs = METRICS[key].needs
    return needs is None or bool(getattr(domain_task, needs))


def kind_of_task(task: str) -> str:
    """The evaluation kind of an image task (gans/tasks.py)."""
    try:
        return TASK_KINDS[task]
    except KeyError:
        raise KeyError(f"no evaluation kind for task {task!r} (known: {', '.join(TASK_KINDS)})") from None


def label(key: str) -> str:
    """The printed name of a metric; an unregistered key prints as itself."""
    return METRICS[key].label if key in METRICS else key


def domain(key: str) -> Domain:
    """The range a metric's values can take (an unregistered key: any real number)."""
    return METRICS[key].domain if key in METRICS else ANY_REAL


def is_shown(key: str) -> bool:
    """Whether result tables show it (unregistered keys are shown, after the known ones)."""
    return METRICS[key].shown if key in METRICS else True
