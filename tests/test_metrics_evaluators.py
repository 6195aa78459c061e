"""The frozen evaluator: the shipped Fashion-MNIST classifier matches its card, ships as package
data, is refused when changed, has no dead feature units and its recorded accuracy on the real
test split, and that accuracy reaches the real-features file and the metrics records."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from gans.cli import main
from gans.data import load_prepared
from gans.metrics.classifier import (ARCHITECTURE_V2, accuracy, dead_units, features_of, load_checked_classifier,
                                     load_classifier)
from gans.metrics.evaluators import (ACCURACY_TOLERANCE, CARD_KIND, EVALUATORS_DIR, EvaluatorError, card_path,
                                     check_accuracy, checked_evaluator, cpu_capability, frozen_weights,
                                     read_card)
from gans.metrics.weights import tensors_sha256

REPO = Path(__file__).resolve().parent.parent
WEIGHTS = frozen_weights("fashion-mnist")


def card() -> dict:
    return json.loads(card_path(WEIGHTS).read_text())


def test_the_shipped_weights_hash_as_their_card_says():
    assert WEIGHTS is not None and WEIGHTS.is_file() and WEIGHTS.parent == EVALUATORS_DIR
    shipped = card()
    assert shipped["kind"] == CARD_KIND and shipped["name"] == WEIGHTS.stem
    assert shipped["tensors_sha256"] == tensors_sha256(WEIGHTS)
    assert shipped["version"] == ARCHITECTURE_V2 == shipped["architecture"]["name"]
    assert shipped["dataset"] == "fashion-mnist" and shipped["weights_file"] == WEIGHTS.name
    for key in ("feature_layer", "feature_dim", "test_accuracy", "dead_feature_units", "train_data_sha256",
                "test_data_sha256", "recipe", "seed", "threads"):
        assert key in shipped, key
    assert set(shipped["trained_with"]) == {"torch", "cpu_capability"}
    assert shipped["test_accuracy"] >= 0.92 and shipped["dead_feature_units"] == 0
    loaded = load_checked_classifier(WEIGHTS)
    assert loaded.card == shipped and loaded.version == WEIGHTS.stem
    assert loaded.record["evaluator"] == WEIGHTS.stem


def test_the_evaluator_ships_as_package_data_and_git_keeps_it():
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"metrics/evaluators/*.pt"' in pyproject and '"**/*.json"' in pyproject
    for path in (WEIGHTS, card_path(WEIGHTS)):
        relative = path.relative_to(REPO)
        ignored = subprocess.run(["git", "check-ignore", "-q", str(relative)], cwd=REPO)
        assert ignored.returncode == 1, f"{relative} is hidden by .gitignore"


def tampered_copy(tmp_path: Path) -> Path:
    for path in (WEIGHTS, card_path(WEIGHTS)):
        shutil.copy(path, tmp_path / path.name)
    copy = tmp_path / WEIGHTS.name
    record = torch.load(copy, weights_only=True)
    weight = record["state_dict"]["head.weight"]
    weight[0, 0] += 1e-3
    torch.save(record, copy)
    return copy


def test_a_tampered_copy_is_refused_at_every_load(tmp_path):
    copy = tampered_copy(tmp_path)
    assert read_card(copy) == card()  # the card came along, and says what the weights were
    with pytest.raises(EvaluatorError, match="its tensors hash to .* its card says"):
        load_classifier(copy)
    from gans.metrics.extractors import ExtractorOptions, resolve
    from gans.metrics.weights import WeightsError

    with pytest.raises(WeightsError, match="the weights were changed"):
        resolve("classifier", ExtractorOptions(classifier=str(copy)))


def test_a_frozen_file_without_its_card_is_refused(tmp_path):
    shutil.copy(WEIGHTS, tmp_path / WEIGHTS.name)
    with pytest.raises(EvaluatorError, match="card .* is missing"):
        load_classifier(tmp_path / WEIGHTS.name)


def test_the_tampered_copy_stops_real_features_with_one_line(tmp_path, tiny_data):
    copy = tampered_copy(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        main(["real-features", "--data", str(tiny_data), "--extractor", "classifier", "--classifier", str(copy),
              "--n", "8", "--out", str(tmp_path / "real.pt")])
    message = str(stopped.value)
    assert message.startswith("[real-features] frozen evaluator") and "\n" not in message
    assert not (tmp_path / "real.pt").exists()


@pytest.fixture(scope="module")
def test_split(fashion_mnist_dir: Path) -> dict:
    return load_prepared(fashion_mnist_dir / "test.pt")


def test_no_dead_units_and_the_cards_accuracy_on_the_real_test_split(test_split):
    torch.set_num_threads(1)
    model, _ = load_classifier(WEIGHTS)
    features = features_of(model, test_split["data"])
    assert features.shape == (10000, card()["feature_dim"])
    assert dead_units(features) == 0 and bool((features.var(0) > 0).all())
    measured = accuracy(model, test_split["data"], test_split["labels"])
    assert measured >= 0.92
    assert measured == pytest.approx(card()["test_accuracy"], abs=1e-3)
    assert test_split["sha256"] == card()["test_data_sha256"]


def test_real_features_recheck_and_record_the_accuracy(fashion_mnist_dir, tmp_path):
    test_file = fashion_mnist_dir / "test.pt"
    out = tmp_path / "real.pt"
    assert main(["real-features", "--data", str(test_file), "--extractor", "classifier", "--classifier",
                 str(WEIGHTS), "--classifier-test", str(test_file), "--n", "64", "--out", str(out)]) == 0
    real = torch.load(out, weights_only=True)
    assert real["extractor_version"] == WEIGHTS.stem and real["extractor_accuracy_checked"]
    assert real["extractor_accuracy"] == pytest.approx(card()["test_accuracy"], abs=1e-3)
    assert real["extractor_sha256"] == card()["tensors_sha256"]
    # a card whose accuracy this machine does not reproduce stops the step
    for path in (WEIGHTS, card_path(WEIGHTS)):
        shutil.copy(path, tmp_path / path.name)
    wrong = card() | {"test_accuracy": card()["test_accuracy"] - 0.01}
    card_path(tmp_path / WEIGHTS.name).write_text(json.dumps(wrong))
    named = re.escape(f"classifier {WEIGHTS.stem} ({tmp_path / WEIGHTS.name}): ")
    with pytest.raises(SystemExit, match=named + r"test accuracy 0\.\d{4} here, 0\.\d{4} recorded"):
        main(["real-features", "--data", str(test_file), "--extractor", "classifier", "--classifier",
              str(tmp_path / WEIGHTS.name), "--classifier-test", str(test_file), "--n", "64",
              "--out", str(tmp_path / "wrong.pt")])


def test_the_accuracy_check_allows_1e_3_on_the_same_data_and_nothing_else():
    recorded = {"test_accuracy": 0.9306, "test_data_sha256": "ab" * 32}
    check_accuracy(recorded, 0.9306 + 0.0009, "ab" * 32, "c")
    check_accuracy(recorded, 0.9306 - 0.0009, "ab" * 32, "c")
    for measured in (0.9306 + 0.0011, 0.9306 - 0.0011):
        with pytest.raises(EvaluatorError, match=r"c: test accuracy .* recorded \(tolerance 0.001\)"):
            check_accuracy(recorded, measured, "ab" * 32, "c")
    with pytest.raises(EvaluatorError, match="not the same data"):
        check_accuracy(recorded, 0.9306, "cd" * 32, "c")
    check_accuracy({"test_accuracy": 0.5}, 0.5, "cd" * 32, "c")  # a record without a data hash
    assert ACCURACY_TOLERANCE == 1e-3


def test_only_a_json_of_the_card_kind_beside_the_weights_is_a_card(tmp_path):
    weights = tmp_path / "cls.pt"
    assert read_card(weights) is None and card_path(weights) == tmp_path / "cls.json"
    card_path(weights).write_text(json.dumps({"test_accuracy": 0.9}))  # train-classifier's info file
    assert read_card(weights) is None
    card_path(weights).write_text(json.dumps([CARD_KIND]))
    assert read_card(weights) is None
    card_path(weights).write_text(json.dumps({"kind": CARD_KIND, "name": "x"}))
    assert read_card(weights) == {"kind": CARD_KIND, "name": "x"}
    assert frozen_weights("mnist") is None and frozen_weights("fashion-mnist") == WEIGHTS


def test_a_classifier_that_is_not_frozen_has_no_card_and_passes(tmp_path):
    assert checked_evaluator(tmp_path / "cls.pt", {"architecture": {}}, "0" * 64) is None


def test_the_cpu_capability_names_torchs_kernels_and_the_cpu():
    capability = cpu_capability()
    assert capability.startswith(torch.backends.cpu.get_cpu_capability() + " (") and capability.endswith(")")
    assert len(capability) > len(torch.backends.cpu.get_cpu_capability()) + 3


def test_the_cpu_capability_names_the_cpu_or_else_the_machine(monkeypatch):
    import platform

    import gans.metrics.evaluators as evaluators

    capability = torch.backends.cpu.get_cpu_capability()
    monkeypatch.setattr(evaluators, "cpu_model", lambda: "Example CPU 9000")
    assert evaluators.cpu_capability() == f"{capability} (Example CPU 9000)"
    monkeypatch.setattr(evaluators, "cpu_model", lambda: "unknown")
    assert evaluators.cpu_capability() == f"{capability} ({platform.machine()})"


def test_the_weights_hash_is_of_the_state_dict_however_it_is_wrapped(tmp_path):
    from gans.metrics.weights import tensors_sha256

    state = {"w": torch.arange(6.0).view(2, 3), "b": torch.zeros(2)}
    torch.save(state, tmp_path / "plain.pt")
    torch.save({"state_dict": state, "info": {"epochs": 2}}, tmp_path / "wrapped.pt")
    torch.save({"state_dict": {"w": torch.ones(1)}}, tmp_path / "other.pt")
    assert tensors_sha256(tmp_path / "plain.pt") == tensors_sha256(tmp_path / "wrapped.pt")
    assert tensors_sha256(tmp_path / "other.pt") != tensors_sha256(tmp_path / "plain.pt")
    torch.save([torch.ones(2)], tmp_path / "list.pt")  # not a dict: hashed as it is
    assert len(tensors_sha256(tmp_path / "list.pt")) == 64


def test_an_accuracy_off_by_exactly_the_tolerance_is_accepted() -> None:
    from gans.metrics.evaluators import ACCURACY_TOLERANCE, EvaluatorError, check_accuracy

    assert ACCURACY_TOLERANCE == 0.001
    check_accuracy({"test_accuracy": 0.0}, 0.001, "d" * 64, "x")  # |0.001 - 0| is exactly 0.001
    with pytest.raises(EvaluatorError, match="test accuracy"):
        check_accuracy({"test_accuracy": 0.0}, 0.0011, "d" * 64, "x")
