"""Mode-collapse metrics for the toy 2-D mixtures, under named published protocols.

Every protocol scores N samples against the K mode centres of the mixture (std sigma):
- a sample is high quality when its distance to its nearest mode, in units of sigma, is below the
  cut-off (3): strictly (PacGAN's released code: `< 3`) or not (VEEGAN, GDPP: `<= 3`);
- a mode is captured when at least `min_count(N)` high-quality samples have it as nearest mode:
  1 in the published protocols; the harness's earlier `toy-2d` rule asks for
  max(1, ceil(N * 20 / 2500)), PacGAN's "20 of 2,500" for its stacked-MNIST modes, scaled to N;
- high_quality_share = high-quality samples / N;
- reverse_kl = KL(p || u) = sum_k p_k log(p_k K), p the histogram of the high-quality samples over
  the K modes (normalised over the high-quality samples), u uniform: 0 for perfect balance,
  log K when every good sample sits on one mode; null when no sample is high quality. This is
  log K minus the entropy that PacGAN's code logs for the same histogram.
A protocol also fixes how many samples it scores (2500 in both published ones), which a suite
that names it must generate (gans.suite).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping, Optional

import torch

TOY_METRIC_KEYS = ("modes_covered", "high_quality_share", "reverse_kl")


@dataclass(frozen=True)
class ToyProtocol:
    """How one source scores samples of a toy mixture (see the module docstring)."""

    name: str
    source: str                          # where the rule was read
    strict: bool                         # high quality: distance < cutoff (True) or <= (False)
    cutoff_sigmas: float = 3.0
    samples: Optional[int] = None        # samples the protocol scores; None: any number
    mode_min_share: Optional[float] = None  # None: one high-quality sample captures a mode

    def min_count(self, n: int) -> int:
        """High-quality samples a mode needs to count as captured, for n scored samples."""
        if self.mode_min_share is None:
            return 1
        return max(1, math.ceil(n * self.mode_min_share - 1e-9))

    def high_quality(self, distance_in_sigmas: torch.Tensor) -> torch.Tensor:
        if self.strict:
            return distance_in_sigmas < self.cutoff_sigmas
        return distance_in_sigmas <= self.cutoff_sigmas

    @property
    def rule(self) -> str:
        """The rule in words, for metrics files and report captions."""
        cut = f"{'<' if self.strict else '<='} {self.cutoff_sigmas:g} sigma"
        captured = ("at least one high-quality sample" if self.mode_min_share is None
                    else f"at least max(1, ceil(N * {self.mode_min_share * 2500:g} / 2500)) "
                         "high-quality samples")
        scored = f"{self.samples} samples" if self.samples else "N samples"
        return (f"{self.name} protocol ({self.source}): {scored}; high quality: distance to the "
                f"nearest mode {cut}; a mode is captured by {captured}; reverse KL = "
                "KL(p || uniform) of the high-quality samples' mode histogram (natural log)")


TOY_PROTOCOLS: Mapping[str, ToyProtocol] = MappingProxyType({
    "veegan": ToyProtocol("veegan", "Srivastava et al. 2017, VEEGAN; also GDPP's code",
                          strict=False, samples=2500),
    "pacgan": ToyProtocol("pacgan", "Lin et al. 2018, PacGAN's released code",
                          strict=True, samples=2500),
    "toy-2d": ToyProtocol("toy-2d", "this harness's earlier rule", strict=False,
                          mode_min_share=20 / 2500),
})
DEFAULT_TOY_PROTOCOL = "toy-2d"


def toy_protocol(name: str) -> ToyProtocol:
    """The registered protocol; an unknown name raises ValueError naming the known ones."""
    if name not in TOY_PROTOCOLS:
        raise ValueError(f"unknown toy protocol {name!r} (known: {', '.join(TOY_PROTOCOLS)})")
    return TOY_PROTOCOLS[name]


def toy_metrics(points: torch.Tensor, modes: torch.Tensor, sigma: float,
                protocol: ToyProtocol = TOY_PROTOCOLS[DEFAULT_TOY_PROTOCOL]) -> dict[str, Any]:
    """Metrics of N x 2 points against K mode centres of a mixture with per-mode std `sigma`.

    Distances are measured in float64 and in units of sigma, as the published code does.
    Returns {"metrics": {modes_covered, high_quality_share, reverse_kl}, "per_mode": {...}}.
    """
    if points.ndim != 2 or points.shape[1] != modes.shape[1]:
        raise ValueError(f"points must be N x {modes.shape[1]}, got {tuple(points.shape)}")
    if len(points) == 0:
        raise ValueError("no points to evaluate")
    distances = torch.cdist(points.double(), modes.double()) / float(sigma)   # N x K, in sigmas
    nearest_distance, nearest_mode = distances.min(dim=1)
    high_quality = protocol.high_quality(nearest_distance)
    counts = torch.bincount(nearest_mode[high_quality], minlength=len(modes))
    min_count = protocol.min_count(len(points))
    reverse_kl: Optional[float] = None
    if counts.sum() > 0:
        p = counts.double() / counts.sum()
        nonzero = p > 0
        reverse_kl = float((p[nonzero] * (p[nonzero] * len(modes)).log()).sum())
    return {
        "metrics": {
            "modes_covered": float((counts >= min_count).sum()),
            "high_quality_share": float(high_quality.double().mean()),
            "reverse_kl": reverse_kl,
        },
        "per_mode": {"high_quality_count": counts.tolist(), "min_count": min_count,
                     "modes_total": len(modes)},
    }
