"""The style-mixing figure (StyleGAN's Figure 3) of every model that can mix styles.

A model mixes styles when its class has `mix_styles(z_coarse, z_fine, coarse_up_to)`
(gans.report.roadmap.mixes_styles), which
returns the images whose layers up to `coarse_up_to` pixels take their styles from z_coarse and
the rest from z_fine. The figure shows a top row of source images and a left column of
destination images, both generated as usual, and in cell (row i, column j) the image with the
coarse styles of source j and the finer ones of destination i. Latents come from the model's
prior through a generator seeded by (suite, seed); the trained run's evaluation network is used,
untruncated.
"""

from __future__ import annotations

import json
from pathlib import Path
import torch

from gans.layout import ResultsLayout
from gans.quantize import quantize_to_uint8
from gans.report.figures import image_grid, model_label, note, save_figure, show_image, styled_figure
from gans.seeding import derive_seed
from gans.spec import EvalInput

SOURCES = 6
DESTINATIONS = 5
COARSE_UP_TO = 8
CELL_IN = 0.55


def style_mixing_grid(run_dir: Path | str, suite: str, seed: int) -> torch.Tensor | str:
    """uint8 images [(DESTINATIONS + 1) * (SOURCES + 1), C, H, W], row by row: a blank corner
    and the sources, then each destination followed by its mixes; or why there are none."""
    from gans.train import load_trained

    status_file = Path(run_dir) / "status.json"
    if not status_file.is_file():
        return "missing"
    status = json.loads(status_file.read_text())["status"]
    if status != "completed":
        return status
    model = load_trained(run_dir)
    generator = torch.Generator().manual_seed(derive_seed("style-mixing", suite, seed))
    sources = model.sample_latent(SOURCES, generator)
    destinations = model.sample_latent(DESTINATIONS, generator)
    mixed = model.mix_styles(sources, destinations, COARSE_UP_TO)
    top = model.sample(EvalInput(z=sources))["x"]
    left = model.sample(EvalInput(z=destinations))["x"]
    corner = torch.ones_like(top[:1])
    rows = [torch.cat([corner, top])] + [torch.cat([left[i:i + 1], mixed[i]]) for i in range(DESTINATIONS)]
    return quantize_to_uint8(torch.cat(rows))


def plot_style_mixing(results: ResultsLayout, dataset: str, model: str, seed: int, suite: str,
                      stem: Path | str) -> list[Path]:
    """The figure of one model's run (seed `seed`), with a note instead when it has no run."""
    grid = style_mixing_grid(Path(results.run_dir(dataset, model, seed)), suite, seed)
    size = (0.6 + CELL_IN * (SOURCES + 1), 1.0 + CELL_IN * (DESTINATIONS + 1))
    with styled_figure(size) as fig:
        ax = fig.subplots()
        ax.set_title(f"{model_label(model)}: style mixing, seed {seed}\ncoarse styles (up to "
                     f"{COARSE_UP_TO}x{COARSE_UP_TO}) from the top row, the rest from the left column",
                     fontsize="small")
        if isinstance(grid, str):
            note(ax, grid)
        else:
            show_image(ax, image_grid(grid, SOURCES + 1))
        return save_figure(fig, stem)
