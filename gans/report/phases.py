"""Growth phases on the training curves: where a progressively grown model (ProGAN, StyleGAN)
started fading in a new resolution, and where that resolution became stable.

A growing model logs its phase index as `growth_phase` every step (and `resolution`, and the
fade-in `alpha`); the boundaries are the steps where the phase changes. Models that do not log
it get no marks.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.transforms import blended_transform_factory

PHASE = "growth_phase"
RESOLUTION = "resolution"
ALPHA = "alpha"


def phase_boundaries(losses: pd.DataFrame) -> list[tuple[int, str]]:
    """(first step of the phase, label) of every phase after the first, from one seed's log
    (every seed of a suite grows at the same steps)."""
    if losses.empty or PHASE not in losses.columns:
        return []
    run = losses[losses["seed"] == losses["seed"].min()] if "seed" in losses.columns else losses
    run = run.sort_values("step")
    changed = run[run[PHASE].diff().fillna(0) != 0]
    marks = []
    for _, row in changed.iterrows():
        label = ""
        if RESOLUTION in row and pd.notna(row[RESOLUTION]):
            fading = ALPHA in row and pd.notna(row[ALPHA]) and row[ALPHA] < 1
            label = f"{int(row[RESOLUTION])}px{' fade-in' if fading else ''}"
        marks.append((int(row["step"]), label))
    return marks


def mark_phases(ax: Axes, losses: pd.DataFrame) -> None:
    """Dotted vertical lines at the phase boundaries, labelled at the top of the panel."""
    top = blended_transform_factory(ax.transData, ax.transAxes)
    for step, label in phase_boundaries(losses):
        ax.axvline(step, ls=":", lw=0.8, color="dimgrey", zorder=1)
        ax.text(step, 0.99, label, transform=top, rotation=90, ha="right", va="top",
                fontsize="xx-small", color="dimgrey")
