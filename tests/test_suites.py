"""Every suite shipped in benchmarks/ passes the checks Snakemake runs before any job, and the
optional suite blocks (resources, evaluation.truncation, domain_tasks) are checked naming the field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from gans.layout import truncating_models, truncation_runs, truncation_sweep
from gans.models import MODELS
from gans.suite import (DEFAULT_RESOURCES, SuiteError, check_suite, domain_task_for, load_checked_suite, load_suite,
                        rule_device, rule_resources, truncation_for)

REPO = Path(__file__).resolve().parent.parent
SUITES = sorted((REPO / "benchmarks").glob("*.yaml"))


def test_the_shipped_suites_are_found():
    assert {"default", "smoke", "toy-2d"} <= {path.stem for path in SUITES}


@pytest.mark.parametrize("suite_file", SUITES, ids=lambda path: path.stem)
def test_a_shipped_suite_is_valid_and_named_after_its_file(suite_file: Path):
    suite = load_suite(suite_file)
    validate(suite, str(REPO / "config" / "suite.schema.yaml"))
    check_suite(suite)
    assert suite["name"] == suite_file.stem  # `--config suite=<name>` finds it by file name


SCHEMA = str(REPO / "config" / "suite.schema.yaml")


def smoke() -> dict:
    return load_suite(REPO / "benchmarks" / "smoke.yaml")


def test_rule_resources_are_the_defaults_overridden_by_the_suite():
    suite = smoke() | {"resources": {"train": {"mem_mb": 900, "gpu": 0}, "evaluate": {"runtime": 5}}}
    check_suite(suite)
    validate(suite, SCHEMA)
    assert rule_resources(suite, "train") == {"mem_mb": 900, "runtime": DEFAULT_RESOURCES["train"]["runtime"],
                                              "gpu": 0}
    assert rule_resources(suite, "evaluate") == {"mem_mb": DEFAULT_RESOURCES["evaluate"]["mem_mb"], "runtime": 5,
                                                 "gpu": 0}
    assert rule_resources(smoke(), "sample") == dict(DEFAULT_RESOURCES["sample"])
    assert DEFAULT_RESOURCES["train"]["gpu"] == 1  # one GPU per training job: --resources gpu=N


GPU_RULES = ("train", "sample", "real_features", "evaluate")


def test_a_rule_runs_on_the_configured_device_only_when_it_holds_a_gpu():
    """Training holds a GPU by default, the evaluation rules do not; a suite moves either way."""
    assert {rule: rule_device(smoke(), rule, "auto") for rule in GPU_RULES} == {
        "train": "auto", "sample": "cpu", "real_features": "cpu", "evaluate": "cpu"}
    flipped = smoke() | {"resources": {"train": {"gpu": 0}, "sample": {"gpu": 1},
                                       "real_features": {"gpu": 1}, "evaluate": {"gpu": 1}}}
    check_suite(flipped)
    validate(flipped, SCHEMA)
    assert {rule: rule_device(flipped, rule, "cuda:1") for rule in GPU_RULES} == {
        "train": "cpu", "sample": "cuda:1", "real_features": "cuda:1", "evaluate": "cuda:1"}
    assert rule_resources(flipped, "evaluate")["gpu"] == 1  # counted by --resources gpu=N


@pytest.mark.parametrize("name", ["cifar10", "celeba-64"])
def test_the_inception_suites_sample_and_evaluate_on_the_gpu(name):
    suite = load_suite(REPO / "benchmarks" / f"{name}.yaml")
    assert all(rule_device(suite, rule, "auto") == "auto" for rule in GPU_RULES)
    assert all(rule_device(load_suite(REPO / "benchmarks" / "default.yaml"), rule, "auto") == "cpu"
               for rule in GPU_RULES if rule != "train")


def test_several_processes_per_job_hold_that_many_gpus_in_training_only():
    suite = smoke() | {"gpus_per_job": 2, "resources": {"evaluate": {"gpu": 1}}}
    assert rule_resources(suite, "train")["gpu"] == 2
    assert rule_resources(suite, "evaluate")["gpu"] == 1


@pytest.mark.parametrize("resources, message", [
    ({"trian": {"mem_mb": 1}}, "resources.trian: unknown rule 'trian'"),  # names: code only
    ({"sample_real": {"gpu": 1}}, "resources.sample_real.gpu: unknown resource"),
    ({"train": {"mem_mb": 0}}, "resources.train.mem_mb: must be an integer >= 1, got 0"),
    ({"evaluate": {"runtime": "1h"}}, "resources.evaluate.runtime: must be an integer >= 1"),
    ({"train": {"gpu": -1}}, "resources.train.gpu: must be an integer >= 0"),
    ({"evaluate": {"gpu": -1}}, "resources.evaluate.gpu: must be an integer >= 0"),
])
def test_bad_resources_are_refused_naming_the_field(resources, message):
    suite = smoke() | {"resources": resources}
    with pytest.raises(SuiteError, match=re.escape(message)):
        check_suite(suite)
    if "unknown rule" not in message:  # the schema checks the values; rule names are the code's
        with pytest.raises(WorkflowError):
            validate(suite, SCHEMA)


@pytest.fixture
def dcgan_truncates(monkeypatch):
    """DCGAN standing in for a model with truncated sampling (BigGAN, StyleGAN)."""
    from gans.models.dcgan import DCGAN

    monkeypatch.setattr(DCGAN, "supports_truncation", True)


@pytest.mark.parametrize("truncation, ok", [(None, True), (0.7, True), (2, True), (0, False),
                                            (-0.5, False), ("0.7", False), (True, False)])
def test_truncation_is_off_or_a_positive_number(truncation, ok, dcgan_truncates):
    suite = smoke()
    suite["evaluation"]["truncation"] = truncation
    if ok:
        check_suite(suite)
        validate(suite, SCHEMA)
        assert truncation_for(suite, "dcgan") == truncation
        assert truncation_for(suite, "gan") is None  # no truncated sampling: untruncated
        return
    with pytest.raises(SuiteError, match="evaluation.truncation: must be a positive number or null"):
        check_suite(suite)
    with pytest.raises(WorkflowError):
        validate(suite, SCHEMA)


def test_truncation_is_off_unless_the_suite_asks(dcgan_truncates):
    assert truncation_for(smoke(), "dcgan") is None


def without_truncating_models(suite: dict) -> dict:
    """The suite without its models that sample truncated (and without its truncation sweep)."""
    from gans.models import MODELS

    suite["models"] = [m for m in suite["models"] if not MODELS.get(m).supports_truncation]
    suite["evaluation"].pop("truncation_sweep", None)
    return suite


def test_truncation_for_a_suite_without_a_truncating_model_stops_at_start():
    suite = without_truncating_models(smoke())
    suite["evaluation"]["truncation"] = 0.7
    with pytest.raises(SuiteError, match="evaluation.truncation: none of this suite's models"):
        check_suite(suite)


def test_the_smoke_suite_sweeps_truncation_for_its_truncating_models():
    suite = smoke()
    expected = [m for m in suite["models"] if MODELS.get(m).supports_truncation]
    assert "biggan" in expected and truncation_sweep(suite) == [1.0]
    assert truncating_models(suite) == expected
    assert truncation_runs(suite) == [("fashion-mnist", m, 0, 1.0) for m in expected]


@pytest.mark.parametrize("sweep, message", [
    ([], "evaluation.truncation_sweep: must be a non-empty list"),
    (0.5, "evaluation.truncation_sweep: must be a non-empty list"),
    ([0.5, 0], "evaluation.truncation_sweep[1]: must be a positive number, got 0"),
    ([True], "evaluation.truncation_sweep[0]: must be a positive number"),
    (["1"], "evaluation.truncation_sweep[0]: must be a positive number"),
    ([1, 1.0], "evaluation.truncation_sweep: values must be distinct"),
])
def test_a_bad_truncation_sweep_is_refused_naming_the_field(sweep, message):
    suite = smoke()
    suite["evaluation"]["truncation_sweep"] = sweep
    with pytest.raises(SuiteError, match=re.escape(message)):
        check_suite(suite)
    if sweep != [1, 1.0]:  # equal numbers of two types: only the code sees them as one value
        with pytest.raises(WorkflowError):
            validate(suite, SCHEMA)


def test_a_truncation_sweep_needs_a_model_that_samples_truncated_and_image_data(monkeypatch):
    suite = without_truncating_models(smoke())
    suite["evaluation"]["truncation_sweep"] = [0.5]
    with pytest.raises(SuiteError, match="evaluation.truncation_sweep: none of this suite's models"):
        check_suite(suite)
    from gans.models.wgan_gp import WGANGP

    monkeypatch.setattr(WGANGP, "supports_truncation", True)  # a toy model that samples truncated
    toy = load_suite(REPO / "benchmarks" / "toy-2d.yaml")
    toy["evaluation"]["truncation_sweep"] = [0.5]
    with pytest.raises(SuiteError, match="truncation_sweep: the trade-off figure is drawn for image"):
        check_suite(toy)


def test_domain_tasks_name_two_domain_models_and_known_tasks(monkeypatch):
    from gans.models.dcgan import DCGAN

    def with_tasks(**tasks) -> dict:
        """The smoke suite with more domain tasks than its own (cogan's and cyclegan's)."""
        suite = smoke()
        return suite | {"domain_tasks": suite["domain_tasks"] | tasks}

    with pytest.raises(SuiteError, match="domain_tasks.dcgan: 'dcgan' trains on one domain"):
        check_suite(with_tasks(dcgan="edges"))
    monkeypatch.setattr(DCGAN, "task", "coupled")  # DCGAN standing in for a two-domain model
    with pytest.raises(SuiteError, match="domain_tasks.dcgan: 'dcgan' trains on two domains: name"):
        check_suite(smoke())
    suite = with_tasks(dcgan="edges")
    check_suite(suite)
    validate(suite, SCHEMA)
    assert domain_task_for(suite, "dcgan") == "edges" and domain_task_for(suite, "gan") is None
    with pytest.raises(SuiteError, match="domain_tasks.dcgan: unknown task 'edges2shoes' .known: edges, "):
        check_suite(with_tasks(dcgan="edges2shoes"))
    without = with_tasks(dcgan="edges")
    without["models"] = [m for m in without["models"] if m != "cyclegan"]
    with pytest.raises(SuiteError, match="domain_tasks.cyclegan: 'cyclegan' is not in this suite's models"):
        check_suite(without)
    with pytest.raises(SuiteError, match="domain_tasks.dcgan: must be a task name"):
        check_suite(with_tasks(dcgan=3))


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.update(models="dcgan"), "models: 'dcgan' is not of type 'array'"),
    (lambda s: s.update(budget=10), "budget: 10 is not of type 'object'"),
    (lambda s: s.update(model_config={"dcgan": 5}), "model_config.dcgan: 5 is not of type 'object'"),
    (lambda s: s.pop("evaluation"), "(top level): 'evaluation' is a required property"),
    (lambda s: s["model_config"].update(dcgan={"ngf": "eight"}), "model_config.dcgan: config key 'ngf'"),
    (lambda s: s["evaluation"].update(n_real=10001), "evaluation.n_real: 10001 real images asked for, "
                                                     "the test split of fashion-mnist has 10000"),
    (lambda s: s.update(name="smoke"), "name: 'smoke' differs from the file name 'copied'"),
])
def test_a_bad_suite_file_gives_one_line_naming_file_and_field(tmp_path, edit, message):
    suite = smoke() | {"name": "copied"}
    edit(suite)
    path = tmp_path / "copied.yaml"
    path.write_text(yaml.safe_dump(suite))
    with pytest.raises(SuiteError) as error:
        load_checked_suite(path)
    assert str(error.value).startswith(f"suite file {path}: {message}")
    assert "\n" not in str(error.value)


def test_every_shipped_suite_loads_checked():
    for path in sorted((Path(__file__).resolve().parent.parent / "benchmarks").glob("*.yaml")):
        assert load_checked_suite(path)["name"] == path.stem


def test_floor_names_are_not_model_names():
    suite = smoke()
    suite["models"] = ["real-coupled-edges"] + suite["models"]
    with pytest.raises(SuiteError, match=re.escape("models[0]: 'real-coupled-edges' is the name of a real floor")):
        check_suite(suite)


# ------------------------------------------------------------------ evaluation.classifier
def with_classifier(block) -> dict:
    suite = smoke()
    suite["evaluation"] = suite["evaluation"] | {"classifier": block}
    return suite


@pytest.mark.parametrize("block", [
    {"source": "retrain"}, {"source": "frozen"}, {},
    {"source": "retrain", "recipe": "v1"},
    {"source": "retrain", "epochs": 4, "lr": 0.001, "schedule": "linear", "augment": "none",
     "min_accuracy": 0.85},
])
def test_honoured_classifier_settings_load(block, tmp_path):
    check_suite(with_classifier(block))
    path = tmp_path / "smoke.yaml"
    path.write_text(yaml.safe_dump(with_classifier(block)))
    load_checked_suite(path, schema=SCHEMA)


@pytest.mark.parametrize("block, message", [
    ({"epoch": 4}, "evaluation.classifier.epoch: unknown key, not honoured"),
    ({"source": "retrain", "optimizer": "sgd"}, "evaluation.classifier.optimizer: unknown key"),
    ({"source": "retrain", "architecture": "domain-cnn-v1"}, "evaluation.classifier.architecture: unknown key"),
    ({"source": "download"}, "evaluation.classifier.source: must be frozen or retrain"),
    ({"source": "retrain", "recipe": "v9"}, "evaluation.classifier.recipe: unknown recipe 'v9'"),
    ({"source": "retrain", "epochs": 0}, "evaluation.classifier.epochs: must be a positive integer"),
    ({"source": "retrain", "schedule": "cosine"}, "evaluation.classifier.schedule: must be linear or one-cycle"),
    # a recipe for a classifier that would not be trained: fashion-mnist has a frozen evaluator
    ({"epochs": 4}, "evaluation.classifier.epochs: recipe settings apply to a retrained classifier"),
])
def test_classifier_settings_the_code_does_not_honour_are_refused_naming_the_key(block, message):
    with pytest.raises(SuiteError, match=re.escape(message)):
        check_suite(with_classifier(block))


@pytest.mark.parametrize("key", ["epoch", "optimizer"])
def test_unknown_classifier_keys_stop_the_suite_at_load(key, tmp_path):
    path = tmp_path / "smoke.yaml"
    path.write_text(yaml.safe_dump(with_classifier({"source": "retrain", key: 1})))
    with pytest.raises(SuiteError, match=f"evaluation.classifier: .*'{key}'") as error:
        load_checked_suite(path, schema=SCHEMA)
    assert "\n" not in str(error.value)


def test_datasets_without_a_frozen_evaluator_retrain():
    from gans.layout import ResultsLayout, classifier_source, classifier_weights_for

    layout = ResultsLayout.for_suite("results", "reports", "smoke")
    suite = smoke() | {"datasets": ["fashion-mnist", "mnist"]}
    assert classifier_source(suite, "fashion-mnist") == "frozen"
    assert classifier_source(suite, "mnist") == "retrain"
    assert classifier_weights_for(layout, suite, "mnist") == "results/extractors/classifier-mnist.pt"
    assert classifier_weights_for(layout, suite, "fashion-mnist").endswith(
        "gans/metrics/evaluators/classifier-fashion-mnist-v2.pt")
    retrain = with_classifier({"source": "retrain"})
    assert classifier_weights_for(layout, retrain, "fashion-mnist") == \
        "results/extractors/classifier-fashion-mnist.pt"
    # a recipe for the datasets that retrain anyway is fine
    check_suite(suite | {"datasets": ["mnist"], "evaluation": suite["evaluation"] | {"classifier": {"epochs": 4}}})
