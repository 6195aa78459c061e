"""Two-domain evaluation: the pair, class and cycle metrics against closed forms, the real features
of one domain, the floors, and `evaluate` on coupled and translation samples end to end (pattern
images under a classifier trained on them; the class pair is sneaker-boot, classes 7 and 9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gans.cli import main
from gans.data import DOMAIN_TASKS
from gans.floors import domain_floor, floor_size
from gans.metrics import registry
from gans.metrics.synthetic import pattern_images, prepared_split
from gans.metrics.two_domain import (PAIR_THRESHOLD, class_share, generated_outputs, held_out_inputs,
                                     l1_distance, pair_agreement, task_metrics)
from gans.tasks import TASKS

DATASET = "fashion-mnist"  # the class pair is defined on it; the images are patterns
N_TEST, N_REAL = 300, 200


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Pattern train/test splits named fashion-mnist, a classifier, the domain features."""
    root = tmp_path_factory.mktemp("two-domain")
    for split, n, seed in (("train", 600, 0), ("test", N_TEST, 1)):
        torch.save(prepared_split(*pattern_images(n, seed=seed), split, dataset=DATASET), root / f"{split}.pt")
    assert main(["train-classifier", "--train", str(root / "train.pt"), "--test", str(root / "test.pt"),
                 "--seed", "0", "--out", str(root / "cls.pt"), "--info", str(root / "cls.json"),
                 "--epochs", "2", "--min-accuracy", "0.8"]) == 0
    for task in ("negative", "sneaker-boot"):
        for domain in ("a", "b"):
            assert main(["real-features", "--data", str(root / "test.pt"), "--extractor", "classifier",
                         "--classifier", str(root / "cls.pt"), "--n", str(N_REAL), "--domain-task", task,
                         "--domain", domain, "--out", str(root / f"{task}-{domain}.pt")]) == 0
    return {"root": root, "cls": root / "cls.pt", "test": root / "test.pt", "train": root / "train.pt"}


def evaluate(work: dict[str, Path], samples: dict, name: str) -> dict:
    task = TASKS.get(samples["task"])
    primary = task.output_domains[task.primary]
    other = "b" if primary == "a" else "a"
    path, out = work["root"] / f"{name}.pt", work["root"] / f"{name}.json"
    torch.save(samples, path)
    dt = samples["domain_task"]
    assert main(["evaluate", "--samples", str(path), "--real", str(work["root"] / f"{dt}-{primary}.pt"),
                 "--domain-real", f"{other}={work['root'] / f'{dt}-{other}.pt'}",
                 "--source-data", str(work["test"]), "--extractor", "classifier",
                 "--classifier", str(work["cls"]), "--out", str(out)]) == 0
    return json.loads(out.read_text())


def record(task: str, domain_task: str, outputs: dict[str, torch.Tensor], **extra) -> dict:
    primary = TASKS.get(task).primary
    return {"model": "m", "dataset": DATASET, "seed": 0, "suite": "unit", "step": 5, "status": "completed",
            "kind": "image", "checkpoint_rule": "final step", "conditional": False, "labels": None,
            "task": task, "primary_output": primary, "domain_task": domain_task,
            "data": outputs.pop(primary), "outputs": outputs, **extra}


def test_pixel_metrics_have_closed_forms() -> None:
    a = torch.tensor([[[[0, 127, 128, 255]]]], dtype=torch.uint8)
    assert pair_agreement(a, a) == 1.0 and l1_distance(a, a) == 0.0
    assert pair_agreement(255 - a, a) == 0.0  # a negative disagrees everywhere after thresholding
    assert l1_distance(torch.zeros_like(a), torch.full_like(a, 255)) == 1.0
    assert pair_agreement(torch.full_like(a, PAIR_THRESHOLD), a) == 0.5
    assert class_share(torch.tensor([9, 9, 7, 1]), 9) == 0.5


def test_task_metrics_follow_the_task_facts() -> None:
    negative, sneaker_boot = DOMAIN_TASKS.get("negative"), DOMAIN_TASKS.get("sneaker-boot")
    coupled, translation = TASKS.get("coupled"), TASKS.get("translation")
    a = pattern_images(8, seed=3)[0]
    perfect = task_metrics({"a": a, "b": negative.transform(a)}, coupled, negative, None, floor=False)
    assert perfect["metrics"] == {"pair_agreement": 1.0, "pair_l1": 0.0}
    wrong = task_metrics({"a": a, "b": a}, coupled, negative, None, floor=False)["metrics"]
    assert wrong["pair_agreement"] < 0.5 and wrong["pair_l1"] > 0.5
    # translation: the pair is (held-out a, G(a)); the cycles go there and back from each domain
    b = pattern_images(8, seed=4)[0]
    images = {"source": a, "source_b": b, "translated": negative.transform(a), "reconstructed": a,
              "reverse_translated": b, "reverse_reconstructed": torch.zeros_like(b)}
    scored = task_metrics(images, translation, negative, None, floor=False)
    assert scored["metrics"]["pair_l1"] == 0.0
    assert scored["details"]["cycle_l1"]["source->reconstructed"] == 0.0
    assert scored["metrics"]["cycle_l1"] == pytest.approx(l1_distance(torch.zeros_like(b), b) / 2)
    # classes: the share of B images classified as domain B's class; no known transform, no pairs
    labels = {"translated": torch.tensor([9, 9, 9, 7])}
    classes = task_metrics(images, translation, sneaker_boot, lambda name: labels[name], floor=False)
    assert classes["metrics"]["translation_accuracy"] == 0.75 and "pair_l1" not in classes["metrics"]
    # a floor has neither pairs nor reconstructions of given inputs
    assert task_metrics(images, translation, negative, None, floor=True)["metrics"] == {}
    assert generated_outputs(translation) == ["reverse_translated"] and generated_outputs(coupled) == ["b"]


def test_the_registry_keys_of_a_task_depend_on_the_domain_task() -> None:
    negative, sneaker_boot = DOMAIN_TASKS.get("negative"), DOMAIN_TASKS.get("sneaker-boot")
    coupled = registry.keys_for(registry.COUPLED, negative)
    assert {"fid", "fid_b", "kid_b", "pair_agreement", "pair_l1"} <= set(coupled)
    assert "translation_accuracy" not in coupled and "class_accuracy" not in coupled
    translation = registry.keys_for(registry.TRANSLATION, sneaker_boot)
    assert {"fid", "fid_reverse_translated", "translation_accuracy", "cycle_l1"} <= set(translation)
    assert "pair_l1" not in translation
    assert all(registry.get(k).protocol for k in ("pair_agreement", "pair_l1", "cycle_l1",
                                                  "translation_accuracy", "fid_b"))


def test_real_features_of_one_domain(work) -> None:
    test = torch.load(work["test"], weights_only=False)
    boots = torch.load(work["root"] / "sneaker-boot-b.pt", weights_only=False)
    n_boots = int((test["labels"] == 9).sum())
    assert boots["n"] == n_boots < N_REAL  # at most n: all the domain's images when fewer
    assert set(boots["labels"].tolist()) == {9}
    assert (boots["domain_task"], boots["domain"]) == ("sneaker-boot", "b")
    negatives = torch.load(work["root"] / "negative-b.pt", weights_only=False)
    assert negatives["n"] == N_REAL and negatives["data_sha256"] != boots["data_sha256"]


def test_a_floor_is_real_train_images_of_each_domain_as_large_as_the_models_samples(work) -> None:
    train, test = torch.load(work["train"], weights_only=False), torch.load(work["test"], weights_only=False)
    floor = domain_floor(train, "coupled", "edges", 50, seed=0, suite="unit")
    domains = DOMAIN_TASKS.get("edges").train_domains(train)
    assert floor["model"] == "real-coupled-edges" and floor["floor"] and floor["task"] == "coupled"
    rows_a = {tuple(x.flatten().tolist()) for x in domains.images_a}
    rows_b = {tuple(x.flatten().tolist()) for x in domains.images_b}
    assert all(tuple(x.flatten().tolist()) in rows_a for x in floor["data"])
    assert all(tuple(x.flatten().tolist()) in rows_b for x in floor["outputs"]["b"])
    assert floor["data"].dtype == floor["outputs"]["b"].dtype == torch.uint8
    n = floor_size(10_000, "translation", "sneaker-boot", test)
    assert n == min(int((test["labels"] == c).sum()) for c in (7, 9))
    translation = domain_floor(train, "translation", "sneaker-boot", n, seed=0, suite="unit")
    assert len(translation["data"]) == n and set(translation["outputs"]) == {
        "reconstructed", "reverse_translated", "reverse_reconstructed"}
    assert floor_size(123, "coupled", "edges", None) == 123


def test_evaluate_coupled_pairs_end_to_end(work) -> None:
    test = torch.load(work["test"], weights_only=False)
    a = test["data"][:120]
    good = evaluate(work, record("coupled", "negative", {"a": a, "b": 255 - a}), "coupled-good")
    assert good["status"] == "completed"
    assert list(good["metrics"]) == list(registry.keys_for(registry.COUPLED, DOMAIN_TASKS.get("negative")))
    assert good["metrics"]["pair_agreement"] == 1.0 and good["metrics"]["pair_l1"] == 0.0
    assert good["metrics"]["fid"] < 50 and good["metrics"]["fid_b"] < 50  # real images of each domain
    unpaired = evaluate(work, record("coupled", "negative", {"a": a, "b": 255 - a.roll(1, 0)}), "coupled-bad")
    assert unpaired["metrics"]["pair_agreement"] < 0.95 and unpaired["metrics"]["pair_l1"] > 0.05
    assert unpaired["metrics"]["fid_b"] == pytest.approx(good["metrics"]["fid_b"])  # same B images
    protocol = good["protocol"]["two_domain"]
    assert protocol["references"]["b"]["n_real"] == N_REAL and protocol["pair_threshold"] == 128
    swapped = evaluate(work, record("coupled", "negative", {"a": 255 - a, "b": a}), "coupled-swapped")
    assert swapped["metrics"]["fid"] > 5 * good["metrics"]["fid"]  # A is scored against domain A


def test_evaluate_translation_end_to_end_with_the_held_out_inputs(work) -> None:
    test = torch.load(work["test"], weights_only=False)
    domains = DOMAIN_TASKS.get("sneaker-boot")
    inputs = held_out_inputs(domains, test, 10_000)
    n = min(len(inputs["source"]), len(inputs["source_b"]))
    sneakers, boots = inputs["source"][:n], inputs["source_b"][:n]
    outputs = {"translated": boots, "reconstructed": sneakers, "reverse_translated": sneakers,
               "reverse_reconstructed": boots}
    ideal = evaluate(work, record("translation", "sneaker-boot", dict(outputs)), "translation-ideal")
    assert ideal["metrics"]["translation_accuracy"] > 0.9 and ideal["metrics"]["cycle_l1"] == 0.0
    assert "pair_l1" not in ideal["metrics"]
    protocol = ideal["protocol"]["two_domain"]
    assert (protocol["task"], protocol["domain_task"], protocol["primary_output"], protocol["target_class"],
            protocol["held_out_split"], protocol["l1_scale"]) == (
        "translation", "sneaker-boot", "translated", 9, "test", "pixels in [0, 1]")
    assert protocol["pairs"] == [list(p) for p in TASKS.get("translation").pairs]
    stuck = evaluate(work, record("translation", "sneaker-boot", {**outputs, "translated": sneakers}),
                     "translation-stuck")
    assert stuck["metrics"]["translation_accuracy"] < 0.1
    floor = domain_floor(torch.load(work["train"], weights_only=False), "translation", "sneaker-boot", n,
                         seed=0, suite="unit")
    scored = evaluate(work, floor, "translation-floor")
    assert scored["metrics"]["cycle_l1"] is None and scored["metrics"]["translation_accuracy"] > 0.9
    assert scored["protocol"]["two_domain"]["floor"] and scored["protocol"]["two_domain"]["cycles"] == []
    assert scored["protocol"]["two_domain"]["pairs"] == [] and scored["protocol"]["two_domain"]["held_out_split"] is None


def test_held_out_inputs_are_the_first_n_test_images_of_each_domain() -> None:
    negative = DOMAIN_TASKS.get("negative")
    test = prepared_split(*pattern_images(20, seed=2), "test", dataset=DATASET)
    inputs = held_out_inputs(negative, test, 5)
    assert set(inputs) == {"source", "source_b"}
    assert torch.equal(inputs["source"], negative.held_out(test, "a")[0][:5])
    assert torch.equal(inputs["source_b"], negative.held_out(test, "b")[0][:5])


def test_without_a_classifier_a_class_task_has_no_translation_accuracy() -> None:
    sneaker_boot, coupled = DOMAIN_TASKS.get("sneaker-boot"), TASKS.get("coupled")
    a = pattern_images(4, seed=3)[0]
    scored = task_metrics({"a": a, "b": a}, coupled, sneaker_boot, None, floor=False)
    assert scored == {"metrics": {"translation_accuracy": None}, "details": {"translation_accuracy": {}}}
    floor = task_metrics({"a": a, "b": a}, coupled, sneaker_boot, lambda name: torch.full((4,), 9), floor=True)
    assert floor["metrics"] == {"translation_accuracy": 1.0}


def test_class_metrics_under_another_extractor_need_the_classifier(work, monkeypatch) -> None:
    """Under Inception (stood in here: its features are random, its weights none), the translation's
    class metrics come from the domain classifier when one is given, on the evaluation device,
    and are left out without one; the record keeps its layout and the timing adds up."""
    from types import SimpleNamespace

    import gans.metrics.evaluate as evaluate_module
    import gans.metrics.extractors as extractors_module
    from gans.metrics.extractors import ExtractorOptions
    from gans.metrics.two_domain import evaluate_two_domain

    test = torch.load(work["test"], weights_only=False)
    references = {d: torch.load(work["root"] / f"sneaker-boot-{d}.pt", weights_only=False) for d in "ab"}
    inputs = held_out_inputs(DOMAIN_TASKS.get("sneaker-boot"), test, 10_000)
    n = min(len(inputs["source"]), len(inputs["source_b"]))
    sneakers, boots = inputs["source"][:n], inputs["source_b"][:n]
    samples = record("translation", "sneaker-boot", {"translated": boots, "reconstructed": sneakers,
                                                     "reverse_translated": sneakers,
                                                     "reverse_reconstructed": boots})
    dim = references["a"]["features"].shape[1]
    monkeypatch.setattr(evaluate_module, "evaluate_images", lambda *args: {
        "status": "completed", "metrics": {}, "protocol": {},
        "timing": {"total_s": 0.0, "feature_extraction_s": 0.0}})
    monkeypatch.setattr(extractors_module, "resolve",
                        lambda name, options: (SimpleNamespace(name="inception-v3-compat"), None))
    monkeypatch.setattr(extractors_module, "extract_features", lambda extractor, weights, images, device: {
        "features": torch.randn(len(images), dim, dtype=torch.float64), "logits": torch.zeros(len(images), 3)})
    asked = []

    def predicted(name, logits, options, images, device):
        asked.append((name, options.classifier, len(images), device))
        return torch.full((len(images),), 9)  # every translation judged a boot

    monkeypatch.setattr(evaluate_module, "_predicted_labels", predicted)
    without = evaluate_two_domain(samples, references, "inception-v3-compat", ExtractorOptions(), test, "meta")
    assert without["metrics"]["translation_accuracy"] is None and asked == []
    scored = evaluate_two_domain(samples, references, "inception-v3-compat", ExtractorOptions(classifier="c.pt"),
                                 test, "meta")
    assert asked and all(call == ("inception-v3-compat", "c.pt", n, "meta") for call in asked)
    assert scored["metrics"]["translation_accuracy"] is not None
    for result in (without, scored):
        metrics = result["metrics"]
        assert isinstance(metrics["fid_reverse_translated"], float)
        assert isinstance(metrics["kid_reverse_translated"], float)
        assert isinstance(result["two_domain"], dict)
        protocol = result["protocol"]["two_domain"]
        assert set(protocol) == {"task", "domain_task", "floor", "primary_output", "output_domains",
                                 "references", "pairs", "cycles", "pair_threshold", "l1_scale",
                                 "target_class", "held_out_split"}
        assert protocol["output_domains"] == dict(TASKS.get("translation").output_domains)
        assert protocol["cycles"] == [list(c) for c in TASKS.get("translation").cycles] != []
        assert {d: set(r) for d, r in protocol["references"].items()} == {
            d: {"n_real", "split", "data_sha256"} for d in "ab"}
        assert protocol["references"]["b"]["data_sha256"] == references["b"]["data_sha256"]
        timing = result["timing"]
        assert 0.0 < timing["feature_extraction_s"] <= timing["total_s"] < 120.0


def test_evaluate_two_domain_hands_on_device_settings_and_size_and_adds_its_own_extraction_time(
        monkeypatch) -> None:
    """The bookkeeping around the feature passes, with the passes faked: each reference must be
    the domain it is given as, the device and the metric settings reach both passes, the held-out
    inputs are as many as the samples, a classifier extractor can predict classes, and the
    two-domain pass's time is added to the image pass's, against a clock that ticks 1 s a reading."""
    from types import SimpleNamespace

    from gans.metrics import evaluate as evaluate_module
    from gans.metrics import extractors as extractors_module
    from gans.metrics import two_domain as two_domain_module
    from gans.metrics.extractors import ExtractorOptions
    from gans.metrics.frechet import feature_statistics
    from gans.metrics.scores import MetricSettings

    seen: dict[str, list] = {"image_pass": [], "devices": [], "held_out_n": [], "predict": []}
    ticks = iter(range(100, 1000))
    monkeypatch.setattr(two_domain_module, "time", SimpleNamespace(perf_counter=lambda: float(next(ticks))))

    status = {"now": "completed"}

    def image_pass(samples, real, name, options, device, settings):
        seen["image_pass"].append((real["domain"], device, settings))
        return {"status": status["now"], "metrics": {}, "protocol": {},
                "timing": {"feature_extraction_s": 7.0, "total_s": 9.0}}

    def features(extractor, weights, images, device):
        seen["devices"].append(device)
        return {"features": torch.randn(len(images), 4, dtype=torch.float64), "logits": torch.zeros(len(images), 10)}

    monkeypatch.setattr(evaluate_module, "evaluate_images", image_pass)
    monkeypatch.setattr(extractors_module, "resolve",
                        lambda name, options: (SimpleNamespace(name="classifier"), "weights"))
    monkeypatch.setattr(extractors_module, "extract_features", features)
    monkeypatch.setattr(two_domain_module, "held_out_inputs", lambda domain_task, prepared, n:
                        seen["held_out_n"].append(n) or {"source": prepared["a"][:n], "source_b": prepared["b"][:n]})
    monkeypatch.setattr(two_domain_module, "task_metrics", lambda images, task, domain_task, predict, floor:
                        seen["predict"].append(predict) or {"metrics": {}, "details": {}})

    def reference(domain: str, domain_task: str = "sneaker-boot") -> dict:
        features_ = torch.randn(30, 4, generator=torch.Generator().manual_seed(ord(domain)), dtype=torch.float64)
        mu, sigma = feature_statistics(features_)
        return {"domain_task": domain_task, "domain": domain, "features": features_, "mu": mu, "sigma": sigma,
                "n": 30, "split": "test", "data_sha256": domain * 64}

    images = pattern_images(12, seed=5)[0]
    samples = record("translation", "sneaker-boot", {name: images for name in TASKS.get("translation").outputs})
    held_out = {"a": images, "b": images, "split": "test"}
    settings = MetricSettings(kid_subsets=7)
    out = two_domain_module.evaluate_two_domain(samples, {"a": reference("a"), "b": reference("b")},
                                                "classifier", ExtractorOptions(), held_out, "meta", settings)
    assert seen["image_pass"] == [("b", "meta", settings)]  # the primary output, translated, is in domain B
    assert seen["devices"] == ["meta"] and seen["held_out_n"] == [12]
    assert seen["predict"][0] is not None  # the classifier extractor predicts classes itself
    # clock: start 100, the two-domain pass 101 -> 102, end 103
    assert out["timing"] == {"feature_extraction_s": 8.0, "total_s": 3.0}

    two_domain_module.evaluate_two_domain(samples, {"a": reference("a"), "b": reference("b")},
                                          "classifier", ExtractorOptions(), held_out)
    assert seen["image_pass"][-1][1:] == ("cpu", MetricSettings()) and seen["devices"][-1] == "cpu"
    status["now"] = "diverged"  # no two-domain pass: the image pass's time alone
    diverged = two_domain_module.evaluate_two_domain(samples, {"a": reference("a"), "b": reference("b")},
                                                     "classifier", ExtractorOptions(), held_out)
    assert diverged["timing"]["feature_extraction_s"] == 7.0
    for swapped in ({"a": reference("b"), "b": reference("b")},  # the right task, another domain
                    {"a": reference("a", "negative"), "b": reference("b")}):  # the right domain, another task
        with pytest.raises(ValueError, match="reference holds"):
            two_domain_module.evaluate_two_domain(samples, swapped, "classifier", ExtractorOptions(), held_out)
