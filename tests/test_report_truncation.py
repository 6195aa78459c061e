"""The truncation trade-off figure: drawn for every model that samples truncated when the suite
sweeps truncation (evaluation.truncation_sweep), from the sweep's metrics files and the headline
evaluation; absent otherwise; the report command writes it and says what it shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from PIL import Image

from gans.layout import ResultsLayout
from gans.report import layout, truncation
from test_report_store import (IMAGE_SUITE, image_metrics, run_command, write_benchmark,
                               write_losses, write_metrics, write_samples, write_status)

SWEEP = [0.5, 1.0, 2.0]
SUITE = {**IMAGE_SUITE, "name": "tsynth", "models": ["dcgan", "biggan"], "seeds": [0, 1],
         "evaluation": {**IMAGE_SUITE["evaluation"], "truncation_sweep": SWEEP}}


def write_sweep(results: Path, seed: int, value: float, fid: float) -> None:
    path = Path(ResultsLayout.from_suite_dir(results).truncated_metrics_file(
        "fashion-mnist", "classifier", "biggan", seed, value))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"status": "completed", "metrics": image_metrics(fid, True),
                                "protocol": {"truncation": value}}))


@pytest.fixture
def sweep_results(tmp_path) -> tuple[Path, Path]:
    results = tmp_path / "results" / "tsynth"
    for model in SUITE["models"]:
        for seed in SUITE["seeds"]:
            write_status(results, SUITE, "fashion-mnist", model, seed)
            write_losses(results, "fashion-mnist", model, seed, wasserstein=False)
            write_benchmark(results, "fashion-mnist", model, seed, rss="500", cpu="30.0")
            write_samples(results, "fashion-mnist", model, seed, labels=model == "biggan")
            write_metrics(results, SUITE, "fashion-mnist", "classifier", model, seed,
                          image_metrics(20.0 + seed, conditional=model == "biggan"))
            if model == "biggan":
                for value in SWEEP:
                    write_sweep(results, seed, value, fid=10.0 + 10 * value + seed)
    for seed in SUITE["seeds"]:
        write_metrics(results, SUITE, "fashion-mnist", "classifier", "real", seed, image_metrics(0.5))
        write_samples(results, "fashion-mnist", "real", seed)
    suite_file = tmp_path / "benchmarks" / "tsynth.yaml"
    suite_file.parent.mkdir(parents=True)
    suite_file.write_text(yaml.safe_dump(SUITE))
    return suite_file, results


def test_the_table_holds_the_sweep_and_the_headline_evaluation_of_truncating_models(sweep_results):
    _, results = sweep_results
    table = truncation.sweep_table(SUITE, ResultsLayout.from_suite_dir(results), "fashion-mnist",
                                   "classifier")
    assert set(table["model"]) == {"biggan"}  # dcgan does not sample truncated
    assert sorted(set(table["truncation"])) == [*SWEEP, float("inf")]  # inf: the headline, off
    means = table.groupby("truncation")["fid"].mean()
    assert means[0.5] == pytest.approx(15.5) and means[float("inf")] == pytest.approx(20.5)


def test_the_figure_renders_both_panels_with_labelled_points(sweep_results, tmp_path):
    _, results = sweep_results
    png, svg = truncation.plot_truncation_tradeoff(SUITE, ResultsLayout.from_suite_dir(results),
                                                   "fashion-mnist", "classifier", tmp_path / "t")
    with Image.open(png) as image:
        assert image.size == (1100, 480)
    text = svg.read_text()
    assert "biggan (2018)" in text and ">off<" in text and ">0.5<" in text and ">2<" in text
    assert "FID (lower is better)" in text and "precision (realism of samples)" in text


def test_without_metrics_the_figure_says_so(tmp_path):
    png, svg = truncation.plot_truncation_tradeoff(SUITE, ResultsLayout.from_suite_dir(tmp_path),
                                                   "fashion-mnist", "classifier", tmp_path / "t")
    assert "no truncation-sweep metrics" in svg.read_text()


def test_the_figure_is_declared_only_when_the_suite_sweeps_truncation():
    name = "figures/truncation-fashion-mnist-classifier.png"
    assert name in [item.path for item in layout.report_items(SUITE, conditional_models=[])]
    plain = {**SUITE, "evaluation": IMAGE_SUITE["evaluation"]}
    assert name not in [item.path for item in layout.report_items(plain, conditional_models=[])]
    no_truncating_model = {**SUITE, "models": ["dcgan"]}
    assert name not in [item.path for item in layout.report_items(no_truncating_model,
                                                                  conditional_models=[])]


def test_the_report_writes_the_figure_and_explains_it(sweep_results, tmp_path):
    suite_file, results = sweep_results
    assert run_command(["aggregate", "--suite-file", str(suite_file), "--results", str(results),
                        "--out", str(results / "store.csv")]) == 0
    out = tmp_path / "reports" / "tsynth"
    assert run_command(["report", "--suite-file", str(suite_file), "--results", str(results),
                        "--out", str(out)]) == 0
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert written == set(layout.report_files(SUITE))
    readme = (out / "README.md").read_text()
    assert "Truncation trade-off of biggan: sampled again at truncation 0.5, 1, 2" in readme
    assert "the headline evaluation, untruncated" in readme
    assert "](figures/truncation-fashion-mnist-classifier.png)" in readme
