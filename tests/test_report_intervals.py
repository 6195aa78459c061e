"""Intervals over seeds that fit their number and the metric's domain: fewer than 5 seeds give
the mean and the seeds' range, 5 or more a 95% Student-t interval clipped to the domain; every
table caption and figure title says which; no cell or error bar leaves the metric's domain.

The stores here are built by hand (a few models, metrics and seeds), so each test states the
values it reads; the cells are read back through `interval_of`, which also reads the old
"mean ± half-width" cells, so a cell outside the domain fails as such."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Optional, Sequence

import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer
from scipy import stats

from gans.metrics import registry
from gans.report import figures, index, tables
from gans.report.stats import RANGE, SINGLE, STUDENT_T, describe, seed_interval
from gans.report.store import STORE_COLUMNS

DATASET, EXTRACTOR = "fashion-mnist", "classifier"


def tidy_store(values: dict[str, dict[str, Sequence[float]]], extractor: str = EXTRACTOR,
               dataset: str = DATASET) -> pd.DataFrame:
    """A store with one row per (model, metric, seed): values[model][metric][seed]."""
    rows = []
    for model, metrics in values.items():
        for metric, per_seed in metrics.items():
            for seed, value in enumerate(per_seed):
                rows.append({
                    "suite": "intervals", "dataset": dataset, "model": model, "year": None,
                    "seed": seed, "extractor": extractor, "metric": metric, "value": value,
                    "status": "completed", "n_generated": 80, "n_real": 80, "real_split": "test",
                    "extractor_sha256": "0123456789abcdef", "quantization": "uint8 rounding",
                    "truncation": None, "checkpoint_rule": "final step", "step": 40,
                    "diverged_at": None, "task": None, "domain_task": None})
    return pd.DataFrame(rows, columns=STORE_COLUMNS)


NUMBER = r"(-?[0-9.]+)"


def interval_of(cell: str) -> tuple[float, Optional[float], Optional[float]]:
    """(mean, lo, hi) of a table cell: "m (lo–hi)", "m [lo, hi]", "m ± h" (the old cells), "m"."""
    for pattern in (rf"^{NUMBER} \({NUMBER}–{NUMBER}\)", rf"^{NUMBER} \[{NUMBER}, {NUMBER}\]"):
        found = re.match(pattern, cell)
        if found:
            return tuple(float(x) for x in found.groups())
    found = re.match(rf"^{NUMBER} ± {NUMBER}", cell)
    if found:
        mean, half = (float(x) for x in found.groups())
        return mean, mean - half, mean + half
    return float(cell), None, None


def cells(table: tables.Table) -> dict[str, dict[str, str]]:
    return {row["Model"]: row for row in table.text.to_dict("records")}


# --------------------------------------------------------------------------- the statistic
def test_fewer_than_five_seeds_give_the_range_and_one_seed_the_value_alone():
    two = seed_interval([132.0, 118.0], registry.domain("fid"))
    assert (two.mean, two.lo, two.hi, two.n, two.method) == (125.0, 118.0, 132.0, 2, RANGE)
    four = seed_interval([0.9, 1.0, None, 0.95, float("nan"), 0.97], registry.domain("precision"))
    assert (four.lo, four.hi, four.n, four.method) == (0.9, 1.0, 4, RANGE)  # missing ones left out
    one = seed_interval([4.0, None])
    assert (one.mean, one.lo, one.hi, one.n, one.method) == (4.0, None, None, 1, SINGLE)
    assert seed_interval([]).mean is None and seed_interval([]).n == 0


def test_five_or_more_seeds_give_the_student_t_interval():
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    half = stats.t.ppf(0.975, 4) * math.sqrt(2.5) / math.sqrt(5)  # s = sqrt(2.5)
    interval = seed_interval(values, registry.domain("fid"))
    assert interval.method == STUDENT_T and interval.n == 5
    assert (interval.lo, interval.hi) == pytest.approx((3.0 - half, 3.0 + half))
    assert half == pytest.approx(1.9632, abs=1e-4)  # t(0.975, 4) = 2.7764


@pytest.mark.parametrize("metric, values, domain", [
    ("precision", [0.9, 1.0, 1.0, 1.0, 1.0], (0.0, 1.0)),
    ("fid", [0.01, 0.02, 0.5, 0.03, 0.01], (0.0, math.inf)),
    ("class_accuracy", [0.2, 0.99, 1.0, 1.0, 1.0, 0.98], (0.0, 1.0)),
    ("modes_covered", [8.0, 8.0, 8.0, 8.0, 7.0], (0.0, 8.0)),  # K = 8 modes
])
def test_student_t_intervals_are_clipped_to_the_metric_domain(metric, values, domain):
    unclipped = seed_interval(values)  # any real number: the plain t interval
    clipped = seed_interval(values, registry.domain(metric), num_classes=8)
    assert not (domain[0] <= unclipped.lo and unclipped.hi <= domain[1])  # it would leave it
    assert domain[0] <= clipped.lo <= clipped.mean <= clipped.hi <= domain[1]
    assert clipped.lo == max(unclipped.lo, domain[0]) and clipped.hi == min(unclipped.hi, domain[1])


def test_kid_may_be_negative_and_a_bound_in_k_stays_open_when_k_is_unknown():
    kid = seed_interval([-0.02, 0.01, -0.01, 0.0, 0.02], registry.domain("kid_mean"))
    assert kid.lo < 0 and kid.lo == pytest.approx(seed_interval([-0.02, 0.01, -0.01, 0.0, 0.02]).lo)
    inception_is = seed_interval([9.0, 9.5, 10.0, 9.2, 9.9], registry.domain("is_mean"))
    assert inception_is.hi > 10.0  # K unknown (Inception's classes): no upper clip
    assert registry.domain("is_mean").known_bounds() == (1.0, math.inf)
    assert registry.domain("reverse_kl").known_bounds(8) == (0.0, pytest.approx(math.log(8)))
    assert registry.domain("not-registered") == registry.ANY_REAL


def test_describe_names_each_method_with_its_seeds():
    two = [seed_interval([1.0, 2.0]), seed_interval([3.0, 5.0])]
    assert describe(two) == "mean and range (min–max) over the 2 seeds"
    mixed = describe([seed_interval(range(6)), seed_interval([1.0, 2.0, 3.0]), seed_interval([1.0])])
    assert mixed == ("mean and 95% Student-t interval [lo, hi] over the 6 seeds, clipped to the "
                     "metric's domain; mean and range (min–max) over the 3 seeds; "
                     "one seed: the value alone")


# --------------------------------------------------------------------------- tables
def test_two_seeds_give_range_cells_not_t_intervals():
    store = tidy_store({"cgan": {"fid": [118.0, 132.0], "class_accuracy": [0.55, 0.85]},
                        "dcgan": {"fid": [100.0, 112.0]}})
    rows = cells(tables.results_table(store, DATASET, EXTRACTOR))
    assert rows["cgan"]["FID"] == "125 (118–132)"  # a t interval: 125 ± 89
    assert rows["cgan"]["Class acc."] == "0.70 (0.55–0.85)"  # a t interval: 0.7 ± 1.9
    assert rows["dcgan"]["FID"] == "106 (100–112)"
    assert "±" not in tables.to_markdown(tables.results_table(store, DATASET, EXTRACTOR).text)


def test_five_seeds_give_clipped_student_t_cells():
    store = tidy_store({"dcgan": {"fid": [1.0, 2.0, 3.0, 4.0, 5.0],
                                  "precision": [0.9, 1.0, 1.0, 1.0, 1.0]}})
    rows = cells(tables.results_table(store, DATASET, EXTRACTOR))
    assert rows["dcgan"]["FID"] == "3.0 [1.0, 5.0]"  # 3 ± 1.96
    assert rows["dcgan"]["Precision"] == "0.980 [0.924, 1.000]"  # 0.98 ± 0.056, clipped at 1


@pytest.mark.parametrize("n_seeds", [2, 3, 5, 8])
def test_no_cell_leaves_the_metric_domain(n_seeds):
    """Precision near 1, FID near 0, class accuracy spread over [0, 1], KID around 0 (where a
    negative estimate is allowed): every cell's interval stays inside its metric's domain."""
    spread = {"precision": [0.9, 1.0], "fid": [0.01, 0.6], "class_accuracy": [0.05, 0.95],
              "coverage": [0.0, 0.4], "kid_mean": [-0.03, 0.02]}
    store = tidy_store({"cgan": {metric: (pair * n_seeds)[:n_seeds] for metric, pair in spread.items()}})
    table = tables.results_table(store, DATASET, EXTRACTOR)
    row = cells(table)["cgan"]
    for metric in spread:
        low, high = registry.domain(metric).known_bounds()
        mean, lo, hi = interval_of(row[registry.label(metric)])
        assert low <= lo <= mean <= hi <= high, (metric, row[registry.label(metric)])
    assert interval_of(row["KID"])[1] < 0  # KID's domain is the real line: a negative lo stays


def test_the_cost_table_states_and_keeps_its_intervals_non_negative():
    store = tidy_store({"dcgan": {"wall_time_s": [10.0, 11.0, 12.0, 200.0, 11.0]},
                        "gan": {"wall_time_s": [50.0, 70.0]}}, extractor="-")
    table = tables.cost_table(store, DATASET)
    rows = cells(table)
    assert interval_of(rows["dcgan"]["Wall time (s)"])[1] == 0  # 49 ± 105, clipped at 0
    assert rows["gan"]["Wall time (s)"] == "60 (50–70)"
    assert table.caption[0] == ("Training cost per run; each cell: mean and 95% Student-t interval "
                                "[lo, hi] over the 5 seeds, clipped to the metric's domain; mean "
                                "and range (min–max) over the 2 seeds.")


def test_the_caption_names_the_method():
    two = tidy_store({"dcgan": {"fid": [1.0, 2.0]}, "gan": {"fid": [4.0, 6.0]}})
    caption = " ".join(tables.results_table(two, DATASET, EXTRACTOR).caption)
    assert "Each cell: mean and range (min–max) over the 2 seeds;" in caption
    assert "Student-t" not in caption
    five = tidy_store({"dcgan": {"fid": [1.0, 2.0, 3.0, 4.0, 5.0]}})
    caption = " ".join(tables.results_table(five, DATASET, EXTRACTOR).caption)
    assert ("Each cell: mean and 95% Student-t interval [lo, hi] over the 5 seeds, clipped to the "
            "metric's domain;") in caption
    assert "range" not in caption


def test_the_latex_table_writes_the_range_dash():
    store = tidy_store({"dcgan": {"fid": [1.0, 3.0]}})
    latex = tables.latex_document(tables.results_table(store, DATASET, EXTRACTOR), "tab:x")
    assert "2.0 (1.0--3.0)" in latex and "min--max" in latex


def test_the_report_protocol_says_which_interval_the_suite_gets():
    store = tidy_store({"dcgan": {"fid": [1.0, 2.0]}})
    suite = {"models": ["dcgan"], "datasets": [DATASET], "seeds": [0, 1],
             "budget": {"steps": 10, "batch_size": 8}}
    text = " ".join(index.protocol_lines(suite, store))
    assert "Training seeds: 0, 1. Cells and error bars show the mean and range over the 2 seeds." in text
    assert "±" not in text and "125 (118–132)" in text and "clipped to the metric's domain" in text
    many = " ".join(index.protocol_lines({**suite, "seeds": list(range(5))}, store))
    assert ("Cells and error bars show the mean and 95% Student-t interval, clipped to the "
            "metric's domain.") in many


# --------------------------------------------------------------------------- figures
@pytest.fixture
def drawn(monkeypatch) -> list:
    """The figures that plot functions save, kept for a look at their artists."""
    saved = []

    def keep(fig, stem):
        saved.append(fig)
        return [Path(f"{stem}.png"), Path(f"{stem}.svg")]

    monkeypatch.setattr(figures, "save_figure", keep)
    return saved


def bar_extents(fig) -> list[tuple[str, float, float]]:
    """("x" or "y", low end, high end) of every error bar drawn on the figure's axes."""
    extents = []
    for ax in fig.axes:
        for container in ax.containers:
            if not isinstance(container, ErrorbarContainer):
                continue
            for collection in container.lines[2]:
                for segment in collection.get_segments():
                    (x0, y0), (x1, y1) = segment
                    axis, ends = ("x", (x0, x1)) if y0 == y1 else ("y", (y0, y1))
                    extents.append((axis, min(ends), max(ends)))
    return extents


def test_error_bars_stay_in_the_metric_domain(drawn, tmp_path):
    store = tidy_store({"dcgan": {"fid": [0.1, 0.9], "precision": [0.9, 1.0], "recall": [0.0, 0.2]},
                        "gan": {"fid": [0.02, 0.03, 0.9, 0.01, 0.02],
                                "precision": [0.9, 1.0, 1.0, 1.0, 1.0],
                                "recall": [0.0, 0.01, 0.3, 0.0, 0.02]}})
    figures.plot_progression(store, DATASET, EXTRACTOR, tmp_path / "p")
    figures.plot_precision_recall(store, DATASET, EXTRACTOR, tmp_path / "pr")
    progression, precision_recall = drawn
    fid_bars = bar_extents(progression)
    assert len(fid_bars) == 2 and all(low >= 0 for _, low, _ in fid_bars)
    assert ("y", pytest.approx(0.1), pytest.approx(0.9)) in fid_bars  # two seeds: min..max
    pr_bars = bar_extents(precision_recall)
    assert len(pr_bars) == 4 and all(0 <= low <= high <= 1 for _, low, high in pr_bars)


def title(fig) -> str:
    """The title of a figure's first axes, its wrapped lines joined."""
    return " ".join(fig.axes[0].get_title().split())


def test_figure_titles_name_the_method(drawn, tmp_path):
    two = tidy_store({"dcgan": {"fid": [1.0, 3.0], "precision": [0.5, 0.6], "recall": [0.2, 0.3]}})
    figures.plot_progression(two, DATASET, EXTRACTOR, tmp_path / "p")
    figures.plot_precision_recall(two, DATASET, EXTRACTOR, tmp_path / "pr")
    cost = tidy_store({"dcgan": {"wall_time_s": [10.0, 12.0]}}, extractor="-")
    figures.plot_quality_vs_time(pd.concat([two, cost]), DATASET, EXTRACTOR, tmp_path / "t")
    for fig in drawn:
        assert "(bars: mean and range (min–max) over the 2 seeds" in title(fig)
    five = tidy_store({"dcgan": {"fid": [1.0, 3.0, 2.0, 2.5, 1.5]}, "gan": {"fid": [4.0]}})
    figures.plot_progression(five, DATASET, EXTRACTOR, tmp_path / "p5")
    assert ("(bars: mean and 95% Student-t interval [lo, hi] over the 5 seeds, clipped to the "
            "metric's domain; one seed: the value alone; dots: seeds)") in title(drawn[-1])
    lines = drawn[-1].axes[0].get_title().splitlines()
    assert all(len(line) <= figures.TITLE_CHARACTERS for line in lines)  # wrapped to fit
