"""Figures render (files exist, non-empty, expected pixel size) and the report command writes a
README that shows the tables and links only to files that exist."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from PIL import Image

from gans.layout import ResultsLayout
from gans.report import figures, layout
from gans.report.anchors import NOT_COMPARABLE
from gans.report.store import STORE_COLUMNS
from test_report_store import (IMAGE_SUITE, TOY_SUITE, run_command, store_of, write_results,
                               write_toy_results)

MODELS = IMAGE_SUITE["models"]


@pytest.fixture(scope="module")
def image_results(tmp_path_factory) -> tuple[Path, Path, pd.DataFrame]:
    suite_file, results = write_results(tmp_path_factory.mktemp("figures"))
    return suite_file, results, store_of(suite_file, results)


def assert_figure(paths: list[Path], size: tuple[int, int], max_png_kb: float = 200) -> None:
    png, svg = paths
    assert (png.suffix, svg.suffix) == (".png", ".svg")
    assert svg.stat().st_size > 0 and svg.read_text().lstrip().startswith("<?xml")
    with Image.open(png) as image:
        assert image.size == size
    assert 0 < png.stat().st_size < max_png_kb * 1024


def test_metric_figures_render_at_their_sizes(image_results, tmp_path):
    _, _, store = image_results
    assert_figure(figures.plot_progression(store, "fashion-mnist", "classifier", tmp_path / "p"),
                  (800, 450))
    assert_figure(figures.plot_precision_recall(store, "fashion-mnist", "classifier", tmp_path / "pr"),
                  (600, 550))
    assert_figure(figures.plot_quality_vs_time(store, "fashion-mnist", "classifier", tmp_path / "t"),
                  (700, 500))


def test_figures_without_data_still_render_with_a_note(tmp_path):
    empty = pd.DataFrame(columns=STORE_COLUMNS)
    paths = figures.plot_progression(empty, "fashion-mnist", "classifier", tmp_path / "p")
    assert_figure(paths, (800, 450))
    assert "no FID values" in paths[1].read_text()  # SVG keeps text as text
    assert_figure(figures.plot_sample_grids(ResultsLayout.from_suite_dir(tmp_path), "fashion-mnist",
                                            ["gan"], 0, tmp_path / "s"),
                  (560, 310))


def test_training_curves_have_a_panel_per_model_and_one_for_wasserstein(image_results, tmp_path):
    _, results, _ = image_results
    paths = figures.plot_training_curves(ResultsLayout.from_suite_dir(results), "fashion-mnist", MODELS,
                                         [0, 1, 2], tmp_path / "c")
    assert_figure(paths, (1200, 600))  # 4 models + Wasserstein = 5 panels in rows of 3
    svg = paths[1].read_text()
    assert "Wasserstein estimate" in svg and "wgan (2017)" in svg and "no losses.csv" in svg
    assert "loss_G" in svg and "critic_iters" not in svg


def test_sample_and_class_grids_render(image_results, tmp_path):
    _, results, _ = image_results
    results = ResultsLayout.from_suite_dir(results)
    grids = figures.plot_sample_grids(results, "fashion-mnist", MODELS, 0, tmp_path / "s")
    assert_figure(grids, (1120, 620), max_png_kb=400)  # 4 models + real floor, rows of 4
    with Image.open(grids[0]) as image:  # the grids hold the samples' pixels, not a blank page
        assert len(np.unique(np.asarray(image.convert("L")))) > 100
    assert_figure(figures.plot_class_grid(results, "fashion-mnist", "cgan", 0, tmp_path / "cg"),
                  (420, 480))  # 10 classes x 8 samples


def test_toy_scatter_draws_samples_over_the_modes(tmp_path):
    _, results = write_toy_results(tmp_path)
    paths = figures.plot_toy_scatter(ResultsLayout.from_suite_dir(results), "ring-8",
                                     TOY_SUITE["models"], 0, tmp_path / "toy")
    assert_figure(paths, (900, 320))  # gan (missing), dcgan, real
    assert "with 3-sigma circles" in paths[1].read_text()


# --------------------------------------------------------------------------- the report command
LINK = re.compile(r"\]\(([^)]+)\)")


@pytest.fixture(scope="module")
def image_report(image_results, tmp_path_factory) -> Path:
    suite_file, results, _ = image_results
    assert run_command(["aggregate", "--suite-file", str(suite_file), "--results", str(results),
                        "--out", str(results / "store.csv")]) == 0
    out = tmp_path_factory.mktemp("reports") / "synth"
    assert run_command(["report", "--suite-file", str(suite_file), "--results", str(results),
                        "--out", str(out)]) == 0
    return out


def test_report_readme_shows_the_tables_and_the_protocol(image_report):
    readme = (image_report / "README.md").read_text()
    assert "| dcgan | 2015 | completed | 3 | 2.0 (1.0–3.0) |" in readme
    assert "| gan | 2014 | missing | 0 | — |" in readme
    assert "| wgan | 2017 | completed 1/3, diverged 2/3 | 1 (no interval) | 5 |" in readme
    assert "| real (floor) |" in readme
    for expected in ("Training seeds: 0, 1, 2", "Code version: test-1234", "torch 2.14.1",
                     "Python 3.11.2", "device cpu", "### Training cost"):
        assert expected in readme


def test_published_numbers_are_kept_apart_from_ours(image_report):
    readme = (image_report / "README.md").read_text()
    assert readme.count(NOT_COMPARABLE) == 1  # the caveat once, above the published tables
    ours, published = readme.split("## Published numbers (under their own protocols, not comparable)")
    assert NOT_COMPARABLE in published
    assert "Parzen" not in ours and "StudioGAN" not in ours
    assert "Parzen log-likelihood 225 +- 2" in published and "FID 4.40" in published
    assert "| dcgan |" not in published.split("### Multi-model harnesses")[0].replace(
        "| dcgan | 2015 | CIFAR-10 |", "")  # only the anchor row, none of our rows


def test_the_published_numbers_section_has_the_caveat_once(tmp_path):
    from gans.report.index import write_anchors

    section = write_anchors(tmp_path)
    assert section.count(NOT_COMPARABLE) == 1
    assert section.index(NOT_COMPARABLE) < section.index("### Paper headline results")
    markdown = (tmp_path / f"{layout.anchors_table()}.md").read_text()
    assert markdown.count(NOT_COMPARABLE) == 1  # the table files keep it as the caption


def test_every_link_in_the_readme_exists(image_report):
    links = LINK.findall((image_report / "README.md").read_text())
    assert len(links) > 15
    for target in links:
        assert (image_report / target).is_file(), target


def test_report_writes_exactly_the_files_the_layout_names(image_report):
    suite = yaml.safe_load(yaml.safe_dump(IMAGE_SUITE))
    expected = set(layout.report_files(suite, conditional_models=["cgan"]))
    written = {p.relative_to(image_report).as_posix() for p in image_report.rglob("*") if p.is_file()}
    assert written == expected
    for item in layout.report_items(suite, conditional_models=["cgan"]):
        caption = Path(__file__).resolve().parent.parent / "rules" / item.caption
        assert caption.is_file(), item.caption


def test_toy_report_has_a_scatter_and_no_precision_recall(tmp_path):
    suite_file, results = write_toy_results(tmp_path)
    assert run_command(["aggregate", "--suite-file", str(suite_file), "--results", str(results),
                        "--out", str(results / "store.csv")]) == 0
    out = tmp_path / "reports" / "toysynth"
    assert run_command(["report", "--suite-file", str(suite_file), "--results", str(results),
                        "--out", str(out)]) == 0
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert written == set(layout.report_files(TOY_SUITE))
    assert "figures/toy-scatter-ring-8.png" in written
    assert not any("precision-recall" in name for name in written)
    assert "| dcgan | 2015 | completed | 1 (no interval) | 6 |" in (out / "README.md").read_text()


def test_report_without_a_store_says_to_aggregate_first(tmp_path):
    suite_file, results = write_toy_results(tmp_path)
    with pytest.raises(SystemExit, match="run `python -m gans aggregate` first"):
        run_command(["report", "--suite-file", str(suite_file), "--results", str(results),
                     "--out", str(tmp_path / "out")])


def test_conditional_samples_are_gridded_one_class_per_column():
    labels = torch.arange(80) % 10
    assert figures.grid_columns({"conditional": True, "labels": labels}) == 10
    assert figures.grid_columns({"conditional": False, "labels": labels}) == 8  # real floor
    assert figures.grid_columns({"conditional": False, "labels": None}) == 8


@pytest.mark.parametrize("n, columns, channels", [(64, 8, 1), (30, 10, 1), (5, 8, 3), (12, 4, 3)])
def test_image_grid_draws_what_torchvision_make_grid_drew(n, columns, channels):
    """The report's grids moved from torchvision's make_grid to gans.grid.tile_images: the same
    pixels (white 2-pixel lines; a grey grid as H' x W')."""
    from torchvision.utils import make_grid

    images = torch.randint(0, 256, (n, channels, 6, 5), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(n))
    theirs = make_grid(images, nrow=columns, padding=2, pad_value=255).permute(1, 2, 0).numpy()
    ours = figures.image_grid(images, columns)
    assert np.array_equal(ours, theirs[..., 0] if channels == 1 else theirs)
