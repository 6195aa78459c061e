"""The one results layout: the file names the rules have always used, Snakemake patterns from the
same functions, and which extractors a dataset is evaluated under."""

from __future__ import annotations

import pytest

from gans.layout import (INCEPTION_EXTRACTOR, REAL, ResultsLayout, evaluated_models, extractors_for,
                         runs, truncation_label, truncation_runs)

LAYOUT = ResultsLayout.for_suite("results", "reports", "smoke")
IMAGE_SUITE = {"datasets": ["fashion-mnist"], "models": ["gan", "cgan"], "seeds": [0, 1],
               "evaluation": {"extractors": ["classifier", "toy"]}}


def test_files_keep_the_names_existing_results_trees_have():
    """Existing results trees stay valid: every name is the one the rules wrote before."""
    d, m, s = "fashion-mnist", "gan", 0
    assert LAYOUT.data_file(d, "train") == "results/data/fashion-mnist/train.pt"
    assert LAYOUT.prepare_log(d, "test") == "results/logs/prepare/fashion-mnist-test.log"
    assert LAYOUT.classifier_weights(d) == "results/extractors/classifier-fashion-mnist.pt"
    assert LAYOUT.classifier_info(d) == "results/extractors/classifier-fashion-mnist.json"
    assert LAYOUT.classifier_log(d) == "results/logs/classifier-fashion-mnist.log"
    assert LAYOUT.classifier_benchmark(d) == "results/benchmarks/classifier-fashion-mnist.tsv"
    assert LAYOUT.real_features(d, "classifier", "test", 256) == \
        "results/real-features/fashion-mnist/classifier/test-n256.pt"
    assert LAYOUT.real_features_log(d, "classifier", "test", 256) == \
        "results/logs/real-features/fashion-mnist-classifier-test-n256.log"
    assert LAYOUT.run_dir(d, m, s) == "results/smoke/runs/fashion-mnist/gan/seed0"
    assert LAYOUT.final_weights(d, m, s) == "results/smoke/runs/fashion-mnist/gan/seed0/final.pt"
    assert LAYOUT.losses_file(d, m, s) == "results/smoke/runs/fashion-mnist/gan/seed0/losses.csv"
    assert LAYOUT.status_file(d, m, s) == "results/smoke/runs/fashion-mnist/gan/seed0/status.json"
    assert LAYOUT.checkpoint_dir(d, m, s) == "results/smoke/checkpoints/fashion-mnist/gan/seed0"
    assert LAYOUT.samples_file(d, m, s) == "results/smoke/samples/fashion-mnist/gan/seed0.pt"
    assert LAYOUT.samples_grid(d, REAL, s) == "results/smoke/samples/fashion-mnist/real/seed0.png"
    assert LAYOUT.metrics_file(d, "classifier", m, s) == \
        "results/smoke/metrics/fashion-mnist/classifier/gan/seed0.json"
    assert LAYOUT.train_log(d, m, s) == "results/smoke/logs/train/fashion-mnist/gan/seed0.log"
    assert LAYOUT.train_benchmark(d, m, s) == "results/smoke/benchmarks/train/fashion-mnist/gan/seed0.tsv"
    assert LAYOUT.sample_log(d, m, s) == "results/smoke/logs/sample/fashion-mnist/gan/seed0.log"
    assert LAYOUT.evaluate_log(d, "classifier", m, s) == \
        "results/smoke/logs/evaluate/fashion-mnist/classifier/gan/seed0.log"
    assert LAYOUT.evaluate_benchmark(d, "classifier", m, s) == \
        "results/smoke/benchmarks/evaluate/fashion-mnist/classifier/gan/seed0.tsv"
    assert LAYOUT.store_file() == "results/smoke/store.csv"
    assert LAYOUT.aggregate_log() == "results/smoke/logs/aggregate.log"
    assert LAYOUT.report_log() == "results/smoke/logs/report.log"
    assert LAYOUT.report_index() == "reports/smoke/README.md"


def test_without_values_a_path_is_the_snakemake_pattern():
    assert LAYOUT.metrics_file() == "results/smoke/metrics/{dataset}/{extractor}/{model}/seed{seed}.json"
    assert LAYOUT.data_file(split="train") == "results/data/{dataset}/train.pt"
    assert LAYOUT.samples_file(model=REAL) == "results/smoke/samples/{dataset}/real/seed{seed}.pt"
    assert LAYOUT.real_features() == "results/real-features/{dataset}/{extractor}/{split}-n{n}.pt"


def test_the_report_finds_the_shared_files_beside_the_suite_folder():
    around = ResultsLayout.from_suite_dir("results/smoke", "reports/smoke")
    assert around == LAYOUT
    assert ResultsLayout.from_suite_dir("/tmp/x/results/synth").data_file("ring-8", "train") == \
        "/tmp/x/results/data/ring-8/train.pt"


def test_extractors_apply_by_dataset_kind_and_inception_when_configured():
    assert extractors_for(IMAGE_SUITE, "fashion-mnist") == ["classifier"]
    assert extractors_for(IMAGE_SUITE, "fashion-mnist", inception=True) == ["classifier", INCEPTION_EXTRACTOR]
    assert extractors_for(IMAGE_SUITE, "ring-8", inception=True) == ["toy"]
    listed = {**IMAGE_SUITE, "evaluation": {"extractors": ["classifier", INCEPTION_EXTRACTOR]}}
    assert extractors_for(listed, "fashion-mnist", inception=True) == ["classifier", INCEPTION_EXTRACTOR]


def test_runs_and_evaluated_models_cover_the_grid_and_the_floor():
    assert runs(IMAGE_SUITE) == [("fashion-mnist", "gan", 0), ("fashion-mnist", "gan", 1),
                                 ("fashion-mnist", "cgan", 0), ("fashion-mnist", "cgan", 1)]
    assert evaluated_models(IMAGE_SUITE) == ["gan", "cgan", REAL]


def test_the_truncation_sweep_has_a_tree_of_its_own_keyed_by_the_value():
    d, m = "fashion-mnist", "biggan"
    assert LAYOUT.truncated_samples_file(d, m, 0, 0.5) == \
        "results/smoke/truncation/samples/fashion-mnist/biggan/truncation0.5/seed0.pt"
    assert LAYOUT.truncated_samples_grid(d, m, 1, 2.0) == \
        "results/smoke/truncation/samples/fashion-mnist/biggan/truncation2/seed1.png"
    assert LAYOUT.truncated_metrics_file(d, "classifier", m, 0, 1) == \
        "results/smoke/truncation/metrics/fashion-mnist/classifier/biggan/truncation1/seed0.json"
    assert LAYOUT.truncated_sample_log(d, m, 0, 0.25) == \
        "results/smoke/logs/sample-truncation/fashion-mnist/biggan/truncation0.25/seed0.log"
    assert LAYOUT.truncated_evaluate_log(d, "classifier", m, 0, 0.25) == \
        "results/smoke/logs/evaluate-truncation/fashion-mnist/classifier/biggan/truncation0.25/seed0.log"
    assert LAYOUT.truncated_metrics_file() == ("results/smoke/truncation/metrics/{dataset}/{extractor}/"
                                               "{model}/truncation{truncation}/seed{seed}.json")
    assert [truncation_label(t) for t in (0.5, 1, 2.0, 1.25, "{truncation}")] == \
        ["0.5", "1", "2", "1.25", "{truncation}"]


def test_the_sweep_runs_cover_truncating_models_on_image_data_only():
    suite = {**IMAGE_SUITE, "datasets": ["fashion-mnist", "ring-8"], "models": ["gan", "biggan"],
             "evaluation": {"truncation_sweep": [0.5, 1]}}
    assert truncation_runs(suite) == [("fashion-mnist", "biggan", 0, 0.5), ("fashion-mnist", "biggan", 0, 1.0),
                                      ("fashion-mnist", "biggan", 1, 0.5), ("fashion-mnist", "biggan", 1, 1.0)]
    assert truncation_runs({**suite, "evaluation": {}}) == []


@pytest.mark.parametrize("method", ["run_dir", "samples_file", "metrics_file", "data_file",
                                    "truncated_samples_file", "truncated_metrics_file"])
def test_patterns_and_files_come_from_one_function(method):
    pattern = getattr(LAYOUT, method)()
    values = {"dataset": "mnist", "model": "dcgan", "seed": 3, "extractor": "classifier", "split": "test",
              "truncation": 0.5}
    names = [name for name in values if "{" + name + "}" in pattern]
    assert getattr(LAYOUT, method)(**{n: values[n] for n in names}) == pattern.format(**values)


TWO_DOMAIN_SUITE = {"datasets": ["fashion-mnist"], "models": ["gan", "cogan", "cyclegan"], "seeds": [0],
                    "domain_tasks": {"cogan": "edges", "cyclegan": "sneaker-boot"},
                    "evaluation": {"extractors": ["classifier"]}}


def test_two_domain_models_get_a_floor_per_task_and_domain_task():
    from gans.layout import (DomainFloor, domain_floors, floor_of, is_floor, two_domain_evaluation)

    assert domain_floors(TWO_DOMAIN_SUITE) == [DomainFloor("coupled", "edges"),
                                               DomainFloor("translation", "sneaker-boot")]
    assert evaluated_models(TWO_DOMAIN_SUITE) == ["gan", "cogan", "cyclegan", REAL, "real-coupled-edges",
                                                  "real-translation-sneaker-boot"]
    assert floor_of(TWO_DOMAIN_SUITE, "gan") == REAL
    assert floor_of(TWO_DOMAIN_SUITE, "cyclegan") == "real-translation-sneaker-boot"
    assert two_domain_evaluation(TWO_DOMAIN_SUITE, "real-coupled-edges") == ("coupled", "edges")
    assert two_domain_evaluation(TWO_DOMAIN_SUITE, "cogan") == ("coupled", "edges")
    assert two_domain_evaluation(TWO_DOMAIN_SUITE, "gan") is None
    assert two_domain_evaluation(TWO_DOMAIN_SUITE, REAL) is None
    assert all(is_floor(m) for m in evaluated_models(TWO_DOMAIN_SUITE)[3:]) and not is_floor("gan")


def test_domain_features_live_beside_the_splits_features():
    assert LAYOUT.domain_features("fashion-mnist", "classifier", "sneaker-boot", "b", "test", 10000) == \
        "results/real-features/fashion-mnist/classifier/sneaker-boot-b/test-n10000.pt"
    assert LAYOUT.domain_features() == \
        "results/real-features/{dataset}/{extractor}/{domain_task}-{domain}/{split}-n{n}.pt"
