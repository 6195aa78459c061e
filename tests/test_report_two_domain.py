"""The report of a suite with two-domain models: their rows and floors in the store, a table per
(task, domain task) with the task's metrics and its floor, the results table and the roadmap
figures without them, and a panel per model (coupled pairs, translations there and back)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from gans.layout import ResultsLayout, domain_floors
from gans.report import figures, layout, tables
from test_report_store import (image_metrics, run_command, store_of, value, write_benchmark,
                               write_losses, write_metrics, write_samples, write_status)

SUITE = {
    "name": "pairs", "description": "synthetic two-domain results",
    "datasets": ["fashion-mnist"], "models": ["dcgan", "cogan", "cyclegan"], "seeds": [0, 1],
    "budget": {"steps": 40, "batch_size": 8},
    "domain_tasks": {"cogan": "edges", "cyclegan": "sneaker-boot"},
    "evaluation": {"n_generated": 80, "n_real": 80, "real_split": "test", "extractors": ["classifier"]},
}
COUPLED = {"fid_b": 30.0, "kid_b": 0.02, "pair_agreement": 0.9, "pair_l1": 0.1}
TRANSLATION = {"fid_reverse_translated": 40.0, "kid_reverse_translated": 0.03,
               "translation_accuracy": 0.6, "cycle_l1": 0.05}


def two_domain_samples(results: Path, model: str, seed: int, task: str, domain_task: str) -> None:
    from gans.tasks import TASKS

    spec = TASKS.get(task)
    g = torch.Generator().manual_seed(seed)
    images = {name: torch.randint(0, 256, (20, 1, 32, 32), generator=g, dtype=torch.uint8)
              for name in spec.outputs}
    path = results / "samples" / "fashion-mnist" / model / f"seed{seed}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"data": images.pop(spec.primary), "outputs": images, "labels": None, "kind": "image",
                "status": "completed", "model": model, "dataset": "fashion-mnist", "seed": seed,
                "task": task, "primary_output": spec.primary, "domain_task": domain_task,
                "suite": "pairs", "step": 40, "checkpoint_rule": "final step", "conditional": False}, path)


def write_pairs_results(root: Path) -> tuple[Path, Path]:
    results = root / "results" / "pairs"
    for seed in SUITE["seeds"]:
        for model, extra, fid in (("dcgan", {}, 10.0), ("cogan", COUPLED, 20.0),
                                  ("cyclegan", TRANSLATION, 50.0 + seed)):
            write_status(results, SUITE, "fashion-mnist", model, seed)
            write_losses(results, "fashion-mnist", model, seed, wasserstein=False)
            write_benchmark(results, "fashion-mnist", model, seed, rss="500", cpu="30.0")
            write_metrics(results, SUITE, "fashion-mnist", "classifier", model, seed,
                          image_metrics(fid) | extra)
        write_samples(results, "fashion-mnist", "dcgan", seed)
        two_domain_samples(results, "cogan", seed, "coupled", "edges")
        two_domain_samples(results, "cyclegan", seed, "translation", "sneaker-boot")
        write_metrics(results, SUITE, "fashion-mnist", "classifier", "real", seed, image_metrics(0.5))
        write_samples(results, "fashion-mnist", "real", seed)
        write_metrics(results, SUITE, "fashion-mnist", "classifier", "real-coupled-edges", seed,
                      image_metrics(0.7) | COUPLED | {"pair_agreement": None, "pair_l1": None})
        write_metrics(results, SUITE, "fashion-mnist", "classifier", "real-translation-sneaker-boot",
                      seed, image_metrics(0.9) | TRANSLATION | {"cycle_l1": None})
    labels = torch.arange(40) % 10
    test = {"data": torch.randint(0, 256, (40, 1, 32, 32), dtype=torch.uint8), "labels": labels,
            "dataset": "fashion-mnist", "split": "test", "kind": "image", "num_classes": 10}
    (root / "results" / "data" / "fashion-mnist").mkdir(parents=True)
    torch.save(test, root / "results" / "data" / "fashion-mnist" / "test.pt")
    suite_file = root / "benchmarks" / "pairs.yaml"
    suite_file.parent.mkdir(parents=True)
    suite_file.write_text(yaml.safe_dump(SUITE))
    return suite_file, results


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    root = tmp_path_factory.mktemp("pairs")
    suite_file, results = write_pairs_results(root)
    return suite_file, results, store_of(suite_file, results)


def test_the_store_marks_two_domain_rows_and_their_floors(pairs):
    _, _, store = pairs
    cyclegan = value(store, model="cyclegan", extractor="classifier")
    assert set(cyclegan["task"]) == {"translation"} and set(cyclegan["domain_task"]) == {"sneaker-boot"}
    floor = value(store, model="real-coupled-edges")
    assert set(floor["task"]) == {"coupled"} and floor["value"].notna().any()
    assert value(store, model="dcgan")["domain_task"].isna().all()
    assert value(store, model="real")["domain_task"].isna().all()


def test_the_results_table_leaves_two_domain_models_to_their_own_tables(pairs):
    _, _, store = pairs
    rows = tables.results_table(store, "fashion-mnist", "classifier").text["Model"].tolist()
    assert rows == ["dcgan", "real (floor)"]


def test_a_table_per_task_and_domain_task_with_its_metrics_and_floor(pairs):
    _, _, store = pairs
    translation = domain_floors(SUITE)[1]
    table = tables.domain_table(store, "fashion-mnist", "classifier", translation)
    rows = table.text.set_index("Model")
    assert list(rows.index) == ["cyclegan", "real (floor)"]
    assert {"FID", "FID (B→A)", "Target-class acc.", "Cycle L1"} <= set(rows.columns)
    assert "Pair L1" not in rows.columns  # sneaker-boot has no known transform
    assert rows.loc["cyclegan", "FID"] == "50.5 (50.0–51.0)" and rows.loc["real (floor)", "Cycle L1"] == "—"
    caption = " ".join(table.caption)
    assert "not comparable with the results table" in caption and "Cycle L1: mean" in caption
    coupled = tables.domain_table(store, "fashion-mnist", "classifier", domain_floors(SUITE)[0])
    assert {"Pair agreement", "Pair L1", "FID (b)"} <= set(coupled.text.columns)
    assert "Target-class acc." not in coupled.text.columns


def test_panels_show_pairs_and_translations_both_ways(pairs):
    _, results, _ = pairs
    layout_ = ResultsLayout.from_suite_dir(results)
    record = figures.load_samples(layout_, "fashion-mnist", "cogan", 0)
    rows = figures.domain_panel_rows(record, None)
    assert [label for label, _ in rows] == ["A", "B", "A", "B"]
    assert torch.equal(rows[2][1], record["data"][8:16]) and torch.equal(rows[3][1], record["outputs"]["b"][8:16])
    record = figures.load_samples(layout_, "fashion-mnist", "cyclegan", 0)
    test = torch.load(layout_.data_file("fashion-mnist", "test"), weights_only=False)
    rows = figures.domain_panel_rows(record, test)
    assert [label for label, _ in rows] == ["a", "A→B", "A→B→A", "b", "B→A", "B→A→B"]
    assert torch.equal(rows[0][1], test["data"][test["labels"] == 7][:8])
    assert torch.equal(rows[4][1], record["outputs"]["reverse_translated"][:8])
    with pytest.raises(ValueError, match="test split is missing"):
        figures.domain_panel_rows(record, None)


def test_the_report_writes_the_layouts_files_and_shows_the_two_domain_tables(pairs, tmp_path):
    suite_file, results, _ = pairs
    assert run_command(["aggregate", "--suite-file", str(suite_file), "--results", str(results),
                        "--out", str(results / "store.csv")]) == 0
    out = tmp_path / "reports" / "pairs"
    assert run_command(["report", "--suite-file", str(suite_file), "--results", str(results),
                        "--out", str(out)]) == 0
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert written == set(layout.report_files(SUITE, conditional_models=[]))
    assert {"tables/translation-sneaker-boot-fashion-mnist-classifier.md",
            "tables/coupled-edges-fashion-mnist-classifier.md",
            "figures/two-domain-fashion-mnist-cogan.png",
            "figures/two-domain-fashion-mnist-cyclegan.png"} <= written
    readme = (out / "README.md").read_text()
    assert "### Two-domain: translation on sneaker-boot, classifier features" in readme
    assert "| cyclegan | 2017 | completed | 2 |" in readme
    assert "Two-domain models (cogan on edges, cyclegan on sneaker-boot)" in readme
    for item in layout.report_items(SUITE, conditional_models=[]):
        assert (Path(__file__).resolve().parent.parent / "rules" / item.caption).is_file()
