"""Result and cost tables: intervals, roadmap order, missing/diverged rows, one-seed cells, captions."""

from __future__ import annotations

import pandas as pd
import pytest

from gans.models import MODELS
from gans.report import tables
from gans.report.stats import RANGE, STUDENT_T, Interval, seed_interval
from test_report_store import store_of, write_results


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> pd.DataFrame:
    suite_file, results = write_results(tmp_path_factory.mktemp("tables"))
    return store_of(suite_file, results)


def rows_by_model(table: tables.Table) -> dict[str, dict[str, str]]:
    return {row["Model"]: row for row in table.text.to_dict("records")}


def test_format_interval_shows_two_significant_digits_of_the_width():
    assert tables.format_interval(seed_interval([1.0, 2.0, 3.0])) == "2.0 (1.0–3.0)"
    assert tables.format_interval(Interval(12.3456, 12.34, 12.352, 3, RANGE)) == "12.346 (12.340–12.352)"
    assert tables.format_interval(Interval(125.0, 118.0, 132.0, 2, RANGE)) == "125 (118–132)"
    assert tables.format_interval(Interval(250.0, 224.0, 276.0, 6, STUDENT_T)) == "250 [224, 276]"
    assert tables.format_interval(Interval(0.98, 0.9245, 1.0, 5, STUDENT_T)) == "0.980 [0.924, 1.000]"
    assert tables.format_interval(Interval(0.8, 0.8, 0.8 + 1e-17, 3, RANGE)) == "0.8 (0.8–0.8)"
    assert tables.format_interval(Interval(0.004, -0.0001, 0.01, 2, RANGE)) == "0.004 (0.000–0.010)"
    assert tables.format_interval(Interval(5.0, None, None, 1, "single")) == "5"
    assert tables.format_interval(seed_interval([])) == tables.NO_VALUE


def test_results_table_lists_models_in_roadmap_order_with_the_floor_last(store):
    table = tables.results_table(store, "fashion-mnist", "classifier")
    # the suite lists them as wgan, dcgan, gan, cgan
    assert table.text["Model"].tolist() == ["gan", "cgan", "dcgan", "wgan", "real (floor)"]
    assert table.text["Year"].tolist() == ["2014", "2014", "2015", "2017", ""]


def test_results_table_cells_are_mean_and_range_over_three_seeds(store):
    rows = rows_by_model(tables.results_table(store, "fashion-mnist", "classifier"))
    assert rows["dcgan"]["FID"] == "2.0 (1.0–3.0)"      # [1, 2, 3]; a t interval: 2.0 ± 2.5
    assert rows["cgan"]["FID"] == "12.0 (10.0–14.0)"    # [10, 12, 14]
    assert rows["dcgan"]["Seeds"] == "3"
    assert rows["cgan"]["Class acc."] == "0.9 (0.9–0.9)"
    assert rows["dcgan"]["Class acc."] == tables.NOT_APPLICABLE
    assert "IS" in rows["dcgan"] and "is_std" not in rows["dcgan"]  # within-run spreads left out


def test_missing_and_diverged_models_stay_in_the_table_and_say_so(store):
    rows = rows_by_model(tables.results_table(store, "fashion-mnist", "classifier"))
    assert rows["gan"]["Status"] == "missing"
    assert rows["gan"]["FID"] == tables.NO_VALUE and rows["gan"]["Seeds"] == "0"
    assert rows["wgan"]["Status"] == "completed 1/3, diverged 2/3"
    everything_diverged = store.assign(status=store["status"].where(store["model"] != "wgan", "diverged"),
                                       value=store["value"].where(store["model"] != "wgan"))
    rows = rows_by_model(tables.results_table(everything_diverged, "fashion-mnist", "classifier"))
    assert rows["wgan"]["Status"] == "diverged" and rows["wgan"]["FID"] == tables.NO_VALUE


def test_a_single_seed_shows_no_interval_and_says_so(store):
    rows = rows_by_model(tables.results_table(store, "fashion-mnist", "classifier"))
    assert rows["wgan"]["Seeds"] == "1 (no interval)"
    assert rows["wgan"]["FID"] == "5" and "(" not in rows["wgan"]["Precision"]
    caption = " ".join(tables.results_table(store, "fashion-mnist", "classifier").caption)
    assert "Each cell: mean and range (min–max) over the 3 seeds; one seed: the value alone" in caption


def test_caption_states_the_protocol(store):
    caption = "\n".join(tables.results_table(store, "fashion-mnist", "classifier").caption)
    for expected in ("Extractor: classifier (weights sha256 0123456789ab)", "n_generated 80",
                     "n_real 80", "test split", "Checkpoint rule: final step", "uint8 rounding",
                     "Training seeds 0, 1, 2", "not comparable with Inception"):
        assert expected in caption
    assert "MIXED" not in caption


def test_caption_names_the_classifier_version_and_its_accuracy(store):
    frozen = store.assign(extractor_version="classifier-fashion-mnist-v2", extractor_accuracy=0.92751)
    caption = "\n".join(tables.results_table(frozen, "fashion-mnist", "classifier").caption)
    assert ("Extractor: classifier (frozen evaluator classifier-fashion-mnist-v2, test accuracy 0.9275; "
            "weights sha256 0123456789ab)") in caption
    retrained = store.assign(extractor_version="retrained", extractor_accuracy=0.91)
    caption = "\n".join(tables.results_table(retrained, "fashion-mnist", "classifier").caption)
    assert "Extractor: classifier (retrained on this machine, test accuracy 0.9100; weights sha256" in caption


def test_a_mixed_protocol_is_flagged_with_the_models_it_concerns(store):
    mixed = store.copy()
    mixed.loc[mixed["model"] == "dcgan", "n_generated"] = 10000
    caption = "\n".join(tables.results_table(mixed, "fashion-mnist", "classifier").caption)
    assert "n_generated MIXED: 80 (gan, cgan, wgan, real); 10000 (dcgan)" in caption


def test_caption_carries_each_models_protocol_notes(store, monkeypatch):
    notes = {"dcgan": "We follow the PyTorch port.", "wgan": "Clip after each critic step."}
    monkeypatch.setattr(tables, "protocol_notes", lambda model: notes.get(model, ""))
    caption = tables.results_table(store, "fashion-mnist", "classifier").caption
    assert "dcgan: We follow the PyTorch port." in caption
    assert "wgan: Clip after each critic step." in caption


def test_protocol_notes_come_from_the_registered_class(monkeypatch):
    from gans.report.roadmap import protocol_notes

    class Noted:
        protocol_notes = "Paper's schedule, not the code's."
        year = 2030

    monkeypatch.setitem(MODELS._entries, "noted-test-model", Noted)
    assert protocol_notes("noted-test-model") == "Paper's schedule, not the code's."
    assert protocol_notes("not-registered-anywhere") == ""


def test_cost_table_counts_diverged_runs_and_keeps_missing_ones(store):
    table = tables.cost_table(store, "fashion-mnist")
    rows = rows_by_model(table)
    assert list(rows) == ["gan", "cgan", "dcgan", "wgan"]  # no floor row for cost
    assert list(table.text.columns[4:]) == ["Wall time (s)", "Images/s", "Peak RSS (MB)", "CPU time (s)"]
    assert rows["dcgan"]["Wall time (s)"] == "11.0 (10.0–12.0)"   # 10, 11, 12 s
    assert rows["wgan"]["Seeds"] == "3" and rows["wgan"]["Status"] == "completed 1/3, diverged 2/3"
    assert rows["gan"]["Status"] == "missing" and rows["gan"]["Wall time (s)"] == tables.NO_VALUE


def test_tables_are_written_as_markdown_html_and_latex(store, tmp_path):
    table = tables.results_table(store, "fashion-mnist", "classifier")
    written = tables.write_table(table, tmp_path / "tables" / "results", "title")
    assert [p.name for p in written] == ["results.md", "results.html", "results.tex"]
    markdown, page, latex = (p.read_text() for p in written)
    assert "| dcgan | 2015 | completed | 3 | 2.0 (1.0–3.0) |" in markdown
    assert "<td>2.0 (1.0–3.0)</td>" in page and "<td>missing</td>" in page
    assert r"2.0 (1.0--3.0)" in latex and r"\begin{tabular}" in latex
    assert r"n\_generated 80" in latex  # caption escaped for LaTeX


def test_report_protocol_states_the_evaluation_the_metrics_files_record(store):
    """Toy suites score against the whole mixture, not the suite's n_real/split: the report's
    protocol lines must say what the metrics files recorded, not what the suite file asked."""
    from gans.report.index import protocol_lines

    suite = {"models": ["gan", "dcgan"], "datasets": ["fashion-mnist"], "seeds": [0, 1, 2],
             "budget": {"steps": 10, "batch_size": 8},
             "evaluation": {"n_generated": 5, "n_real": 7, "real_split": "train"}}
    text = "\n".join(protocol_lines(suite, store))
    assert "Evaluation: 80 generated vs 80 real samples of the test split" in text
    assert "Quantization: uint8 rounding" in text


def test_report_protocol_states_the_truncation(store):
    from gans.report.index import protocol_lines

    suite = {"models": ["gan", "dcgan"], "datasets": ["fashion-mnist"], "seeds": [0, 1, 2],
             "budget": {"steps": 10, "batch_size": 8}}
    assert "Truncation: off." in protocol_lines(suite, store)  # files without it: off
    truncated = store.assign(truncation=store["truncation"].where(store["model"] == "real", 0.7))
    assert "Truncation: 0.7." in protocol_lines(suite, truncated)  # the floor is never truncated
    mixed = truncated.assign(truncation=truncated["truncation"].where(truncated["model"] != "dcgan"))
    assert "Truncation: MIXED: 0.7 (gan, cgan, wgan); off (dcgan)." in protocol_lines(suite, mixed)
