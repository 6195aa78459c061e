"""Report additions of the progressively grown, style-based models: growth-phase boundaries on
the training curves, and the style-mixing figure of every model that mixes styles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from gans.layout import ResultsLayout
from gans.report import figures, layout
from gans.report.phases import phase_boundaries
from gans.report.roadmap import mixes_styles
from gans.report.style_mixing import DESTINATIONS, SOURCES, plot_style_mixing, style_mixing_grid
from gans.train import TrainSettings, train

REPO = Path(__file__).resolve().parent.parent


def growing_log(seed: int) -> pd.DataFrame:
    """A ProGAN-like log: 4 px stable for 10 steps, 8 px fading in for 10, then stable."""
    steps = np.arange(1, 31)
    phase = np.where(steps <= 10, 0, np.where(steps <= 20, 1, 2))
    alpha = np.where(phase == 1, (steps - 11) / 10, 1.0)
    return pd.DataFrame({"step": steps, "wall_s": steps * 0.1, "loss_D": 1.0 / steps,
                         "loss_G": -1.0 / steps, "growth_phase": phase.astype(float),
                         "resolution": np.where(phase == 0, 4.0, 8.0), "alpha": alpha, "seed": seed})


def test_phase_boundaries_are_where_the_logged_phase_changes() -> None:
    log = pd.concat([growing_log(0), growing_log(1)])
    assert phase_boundaries(log) == [(11, "8px fade-in"), (21, "8px")]
    assert phase_boundaries(log.drop(columns=["growth_phase"])) == []


def test_training_curves_mark_the_growth_phases(tmp_path: Path) -> None:
    results = ResultsLayout.from_suite_dir(tmp_path / "results" / "synth")
    for model, log in [("progan", growing_log(0)), ("dcgan", growing_log(0).iloc[:, :4])]:
        path = Path(results.losses_file("fashion-mnist", model, 0))
        path.parent.mkdir(parents=True, exist_ok=True)
        log.drop(columns=["seed"], errors="ignore").to_csv(path, index=False)
    png, svg = figures.plot_training_curves(results, "fashion-mnist", ["dcgan", "progan"], [0],
                                            tmp_path / "curves")
    text = svg.read_text()
    assert text.count("8px fade-in") == 1 and "growth_phase" not in text  # marks, not a curve


def test_style_mixing_figure_from_a_trained_run(tiny_data: Path, tmp_path: Path) -> None:
    results = ResultsLayout.from_suite_dir(tmp_path / "results" / "synth")
    assert style_mixing_grid(results.run_dir("synthetic", "stylegan", 0), "synth", 0) == "missing"
    config = {"z_dim": 8, "w_dim": 8, "mapping_width": 8, "fmap_base": 16, "fmap_max": 8,
              "stable_images": 0, "fade_images": 0}
    train(TrainSettings(model="stylegan", data=str(tiny_data), seed=0, steps=2, batch_size=8,
                        out_dir=results.run_dir("synthetic", "stylegan", 0),
                        checkpoint_dir=str(tmp_path / "ckpt"), model_config=config))
    grid = style_mixing_grid(results.run_dir("synthetic", "stylegan", 0), "synth", 0)
    assert grid.shape == ((SOURCES + 1) * (DESTINATIONS + 1), 1, 16, 16) and grid.dtype == torch.uint8
    assert torch.equal(grid[0], torch.full_like(grid[0], 255))  # the blank corner
    again = style_mixing_grid(results.run_dir("synthetic", "stylegan", 0), "synth", 0)
    assert torch.equal(grid, again)
    png, svg = plot_style_mixing(results, "synthetic", "stylegan", 0, "synth", tmp_path / "mix")
    with Image.open(png) as image:
        assert image.size == (445, 430)
    assert "coarse styles" in svg.read_text()


def test_the_layout_names_a_style_mixing_figure_for_models_that_mix_styles() -> None:
    assert mixes_styles("stylegan") and not mixes_styles("progan") and not mixes_styles("nope")
    suite = {"name": "s", "datasets": ["fashion-mnist"], "models": ["dcgan", "stylegan"], "seeds": [0],
             "evaluation": {"extractors": ["classifier"]}}
    files = layout.report_files(suite)
    assert "figures/style-mixing-fashion-mnist-stylegan.png" in files
    assert not any("style-mixing-fashion-mnist-dcgan" in f for f in files)
    items = [i for i in layout.report_items(suite) if "style-mixing" in i.path]
    assert len(items) == 1 and (REPO / "rules" / items[0].caption).is_file()
