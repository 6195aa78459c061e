"""The metric registry: every key the metric code produces is registered, and the report's
tables, captions and headlines print what the registry says."""

from __future__ import annotations

import math
from types import MappingProxyType

import pytest

from gans.metrics import registry
from gans.metrics.scores import IMAGE_METRIC_KEYS
from gans.metrics.toy import TOY_METRIC_KEYS
from gans.report import layout, tables
from gans.report.store import COST_METRICS, read_benchmark
from test_report_store import store_of, write_benchmark, write_results

CONDITIONAL_ONLY = {"class_accuracy", "intra_fid"}


def test_every_key_the_metric_code_produces_is_registered():
    assert set(IMAGE_METRIC_KEYS) <= set(registry.METRICS)
    assert set(TOY_METRIC_KEYS) <= set(registry.METRICS)
    assert CONDITIONAL_ONLY <= set(IMAGE_METRIC_KEYS)


def test_cost_keys_are_what_status_and_benchmark_files_give(tmp_path):
    write_benchmark(tmp_path, "d", "m", 0, rss="500", cpu="30")
    from_benchmark = read_benchmark(tmp_path / "benchmarks" / "train" / "d" / "m" / "seed0.tsv")
    from_status = {"wall_time_s", "images_per_s"}  # the training loop's status.json
    assert set(registry.keys_for(registry.COST)) == set(from_benchmark) | from_status
    assert COST_METRICS == registry.keys_for(registry.COST)


def test_each_evaluation_kind_gets_the_keys_its_code_writes():
    assert set(registry.keys_for(registry.CONDITIONAL_IMAGE)) == set(IMAGE_METRIC_KEYS)
    assert set(registry.keys_for(registry.IMAGE)) == set(IMAGE_METRIC_KEYS) - CONDITIONAL_ONLY
    assert registry.keys_for(registry.TOY) == TOY_METRIC_KEYS
    with pytest.raises(ValueError, match="unknown evaluation kind 'video'"):
        registry.keys_for("video")


def test_table_labels_order_and_directions_are_the_ones_the_tables_always_had():
    shown = [registry.label(k) for k in tables.RESULT_METRICS]
    assert shown == ["FID", "KID", "IS", "Precision", "Recall", "Density", "Coverage", "Class acc.",
                     "Intra-FID", "Modes covered", "HQ share", "Reverse KL"]
    assert [registry.label(k) for k in COST_METRICS] == ["Wall time (s)", "Images/s", "Peak RSS (MB)",
                                                          "CPU time (s)"]
    assert tables.LOWER_IS_BETTER == ("fid", "kid_mean", "intra_fid", "reverse_kl")
    assert not registry.is_shown("is_std") and not registry.is_shown("kid_std")
    assert registry.label("not-registered") == "not-registered" and registry.is_shown("not-registered")


def test_tables_and_headlines_print_the_registry_labels(tmp_path, monkeypatch):
    suite_file, results = write_results(tmp_path)
    store = store_of(suite_file, results)
    relabelled = {key: entry for key, entry in registry.METRICS.items()}
    relabelled["fid"] = registry.Metric("fid", "Frechet", True, relabelled["fid"].kinds,
                                        relabelled["fid"].domain)
    relabelled["is_std"] = registry.Metric("is_std", "IS spread", None, relabelled["is_std"].kinds,
                                           relabelled["is_std"].domain, shown=True)
    monkeypatch.setattr(registry, "METRICS", MappingProxyType(relabelled))
    table = tables.results_table(store, "fashion-mnist", "classifier")
    assert "Frechet" in table.text.columns and "FID" not in table.text.columns
    assert table.text.set_index("Model").loc["dcgan", "Frechet"] == "2.0 (1.0–3.0)"
    assert "IS spread" in table.text.columns  # shown now: after the known columns
    assert "Lower is better for FID" not in " ".join(table.caption)
    assert layout.headline_for("classifier").label == "Frechet"


def test_headlines_come_from_the_registry():
    assert (layout.headline_for("classifier").metric, layout.headline_for("classifier").label) == ("fid", "FID")
    toy = layout.headline_for("toy")
    assert (toy.metric, toy.label, toy.lower_is_better, toy.slug) == ("modes_covered", "Modes covered",
                                                                      False, "modes")


def test_domains_are_data_with_symbolic_class_counts():
    assert registry.get("fid").domain.bounds() == (0.0, math.inf)
    assert registry.get("precision").domain.contains(1.0) and not registry.get("precision").domain.contains(1.01)
    assert registry.get("is_mean").domain.bounds(num_classes=10) == (1.0, 10.0)
    assert registry.get("reverse_kl").domain.bounds(num_classes=8) == (0.0, pytest.approx(math.log(8)))
    assert registry.get("kid_mean").domain.contains(-0.02)  # an unbiased estimate can dip below 0
    with pytest.raises(ValueError, match="number of classes"):
        registry.get("modes_covered").domain.bounds()
    both_in_k = registry.Domain(registry.LOG_NUM_CLASSES, registry.NUM_CLASSES)
    assert both_in_k.bounds(num_classes=4) == (pytest.approx(math.log(4)), 4.0)
    with pytest.raises(KeyError, match="unknown metric 'fidd'"):
        registry.get("fidd")


def test_the_store_gives_missing_runs_the_registered_keys(tmp_path):
    suite_file, results = write_results(tmp_path)
    store = store_of(suite_file, results)
    gan = store[(store["model"] == "gan") & (store["extractor"] == "classifier")]
    assert set(gan["metric"]) == set(registry.keys_for(registry.IMAGE))
    assert gan["value"].isna().all()


def test_known_bounds_open_a_bound_in_k_when_k_is_unknown():
    modes = registry.get("modes_covered").domain
    assert modes.known_bounds() == (0.0, math.inf) and modes.known_bounds(25) == (0.0, 25.0)
    assert registry.Domain(registry.NUM_CLASSES, 3.0).known_bounds() == (-math.inf, 3.0)
    assert registry.get("kid_mean").domain.known_bounds() == (-math.inf, math.inf)
    assert registry.get("fid").domain.contains(0.0) and not registry.get("fid").domain.contains(-1e-9)
    assert registry.get("is_mean").domain.contains(10.0, num_classes=10)
    assert not registry.get("is_mean").domain.contains(10.01, num_classes=10)


def test_unregistered_keys_print_as_themselves_take_any_value_and_are_shown():
    assert registry.label("fid") == "FID" and registry.label("my_metric") == "my_metric"
    assert registry.domain("precision") is registry.UNIT and registry.domain("my_metric") is registry.ANY_REAL
    assert not registry.is_shown("kid_std") and registry.is_shown("fid") and registry.is_shown("my_metric")


def test_unknown_kinds_and_tasks_are_refused_and_needs_decide_what_applies():
    with pytest.raises(ValueError, match="unknown evaluation kind 'video'"):
        registry.keys_for("video")
    with pytest.raises(KeyError, match="no evaluation kind for task 'painting'"):
        registry.kind_of_task("painting")
    assert registry.kind_of_task("conditional") == registry.CONDITIONAL_IMAGE
    assert registry.keys_for(registry.TOY) == ("modes_covered", "high_quality_share", "reverse_kl")

    class Task:
        known_transform, has_classes = False, True

    assert registry.applies("translation_accuracy", Task()) and not registry.applies("pair_l1", Task())
    assert registry.applies("fid", Task())
    assert "pair_l1" not in registry.keys_for(registry.COUPLED, Task())
    assert "pair_l1" in registry.keys_for(registry.COUPLED)
