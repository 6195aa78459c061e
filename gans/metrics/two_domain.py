"""Metrics of two-domain samples (coupled pairs, translations) and their evaluation.

A two-domain samples file holds the task's outputs (gans/tasks.py); the task says which domain
each output is in, which images form a pair (a domain-A and a domain-B image made from one
input) and which are an input and its reconstruction. Judged generically from those facts:
  * the primary output gets every image metric against the real test images of its own domain
    (features computed once per domain task, domain and n: `real-features --domain-task`);
  * every other generated output (not a reconstruction) gets FID and KID against its domain;
  * pairs, when the domain task has a known transform T: pixel agreement of T(A image) and the
    B image after thresholding both at 128 of 255, and their L1 (pixels in [0, 1]);
  * the B images of the pairs, when each domain is one class: the share the domain classifier
    assigns to domain B's class (translation accuracy);
  * cycles: L1 of each held-out input to its reconstruction (pixels in [0, 1]).
The held-out inputs ("source", "source_b") are the domain task's test images, in the order the
sampler used. A floor (real train images of each domain in the task's format) has no pairs and
no reconstructions of given inputs: only its distribution and class metrics are computed.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional

import torch

from gans.metrics import registry
from gans.metrics.frechet import feature_statistics, frechet_distance
from gans.metrics.scores import MetricSettings

if TYPE_CHECKING:
    from gans.data.domains import DomainTask
    from gans.metrics.extractors import ExtractorOptions

PAIR_THRESHOLD = 128  # of 255: the binarisation before pixels are compared
INPUTS = {"source": "a", "source_b": "b"}  # the held-out evaluation inputs, by domain


def pair_agreement(transformed: torch.Tensor, images: torch.Tensor) -> float:
    """Share of pixels where two uint8 image batches agree after thresholding at PAIR_THRESHOLD."""
    return float(((transformed >= PAIR_THRESHOLD) == (images >= PAIR_THRESHOLD)).double().mean())


def l1_distance(x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean absolute difference of two uint8 image batches, with pixels in [0, 1]."""
    return float((x.double() - y.double()).abs().mean() / 255.0)


def class_share(predicted: torch.Tensor, target: int) -> float:
    """Share of predictions equal to the target class."""
    return float((predicted == target).double().mean())


def held_out_inputs(domain_task: "DomainTask", prepared_test: dict[str, Any], n: int) -> dict[str, torch.Tensor]:
    """The first n held-out images of each domain (uint8), as the sampler gave them to the model."""
    return {name: domain_task.held_out(prepared_test, domain)[0][:n] for name, domain in INPUTS.items()}


def generated_outputs(task: Any) -> list[str]:
    """Outputs beyond the primary that are generated, not reconstructions of an input."""
    reconstructions = {rec for _, rec in task.cycles}
    return [name for name in task.outputs if name != task.primary and name not in reconstructions]


def task_metrics(images: Mapping[str, torch.Tensor], task: Any, domain_task: "DomainTask",
                 predict: Optional[Callable[[str], torch.Tensor]], floor: bool) -> dict[str, Any]:
    """Pair, class and cycle metrics of one record's uint8 images (outputs and held-out inputs by
    name), with per-pair and per-cycle details. `predict(name)` gives the domain classifier's
    labels of the images `name` (None: no classifier)."""
    metrics: dict[str, Optional[float]] = {}
    details: dict[str, Any] = {}
    if domain_task.has_classes:
        target = domain_task.domain_class("b")
        shares = {b: class_share(predict(b), target) for _, b in task.pairs} if predict else {}
        metrics["translation_accuracy"] = _mean(shares.values())
        details["translation_accuracy"] = shares
    if floor:  # real images of each domain: no pairs and no reconstructions to compare
        return {"metrics": metrics, "details": details}
    if domain_task.known_transform:
        pairs = {f"{a}->{b}": (domain_task.transform(images[a]), images[b]) for a, b in task.pairs}
        details["pair_agreement"] = {k: pair_agreement(t, b) for k, (t, b) in pairs.items()}
        details["pair_l1"] = {k: l1_distance(t, b) for k, (t, b) in pairs.items()}
        metrics["pair_agreement"] = _mean(details["pair_agreement"].values())
        metrics["pair_l1"] = _mean(details["pair_l1"].values())
    if task.cycles:
        details["cycle_l1"] = {f"{x}->{rec}": l1_distance(images[rec], images[x]) for x, rec in task.cycles}
        metrics["cycle_l1"] = _mean(details["cycle_l1"].values())
    return {"metrics": metrics, "details": details}


def _mean(values) -> Optional[float]:
    values = list(values)
    return float(sum(values) / len(values)) if values else None


def evaluate_two_domain(samples: dict[str, Any], references: Mapping[str, dict[str, Any]],
                        extractor_name: str, options: "ExtractorOptions",
                        prepared_test: Optional[dict[str, Any]] = None, device: str = "cpu",
                        settings: MetricSettings = MetricSettings()) -> dict[str, Any]:
    """The metrics record of a two-domain samples file.

    `references` maps each domain ("a", "b") to its real-features file (from
    `real-features --domain-task`); `prepared_test` is the test split the held-out inputs came
    from (needed for pairs and cycles of model samples, not for floors).
    """
    from gans.data import DOMAIN_TASKS
    from gans.metrics.evaluate import _predicted_labels, evaluate_images
    from gans.metrics.extractors import extract_features, resolve
    from gans.tasks import TASKS

    started = time.perf_counter()
    task, domain_task = TASKS.get(samples["task"]), DOMAIN_TASKS.get(samples["domain_task"])
    for domain, real in references.items():
        if real.get("domain_task") != domain_task.name or real.get("domain") != domain:
            raise ValueError(f"the domain-{domain} reference holds {real.get('domain_task')!r} domain "
                             f"{real.get('domain')!r}, not domain {domain} of {domain_task.name!r}")
    primary_domain = task.output_domains[task.primary]
    record = evaluate_images(samples, references[primary_domain], extractor_name, options, device, settings)
    floor = bool(samples.get("floor"))
    keys = registry.keys_for(registry.kind_of_task(task.name), domain_task)
    extra_s = 0.0
    if record["status"] == "completed":
        t0 = time.perf_counter()
        extractor, weights = resolve(extractor_name, options)
        images = {task.primary: samples["data"], **samples["outputs"]}
        if not floor:
            if prepared_test is None:
                raise ValueError("two-domain samples are compared with their held-out inputs: give "
                                 "the prepared test split (--source-data)")
            images.update(held_out_inputs(domain_task, prepared_test, len(samples["data"])))
        features: dict[str, dict[str, torch.Tensor]] = {}

        def extracted(name: str) -> dict[str, torch.Tensor]:
            if name not in features:
                features[name] = extract_features(extractor, weights, images[name], device)
            return features[name]

        for name in generated_outputs(task):
            real = references[task.output_domains[name]]
            fake = extracted(name)["features"]
            record["metrics"][f"fid_{name}"] = frechet_distance(*feature_statistics(fake), real["mu"], real["sigma"])
            record["metrics"][f"kid_{name}"] = _kid(fake, real["features"], settings)

        def predict(name: str) -> torch.Tensor:
            return _predicted_labels(extractor.name, extracted(name)["logits"], options, images[name], device)

        can_predict = extractor.name == "classifier" or options.classifier is not None
        scored = task_metrics(images, task, domain_task, predict if can_predict else None, floor)
        record["metrics"].update(scored["metrics"])
        record["two_domain"] = scored["details"]
        extra_s = time.perf_counter() - t0
    record["metrics"] = {key: record["metrics"].get(key) for key in keys}  # the task's keys, in order
    record["protocol"]["two_domain"] = {
        "task": task.name, "domain_task": domain_task.name, "floor": floor,
        "primary_output": task.primary, "output_domains": dict(task.output_domains),
        "references": {d: {"n_real": r["n"], "split": r["split"], "data_sha256": r["data_sha256"]}
                       for d, r in sorted(references.items())},
        "pairs": [list(p) for p in task.pairs] if not floor else [],
        "cycles": [list(c) for c in task.cycles] if not floor else [],
        "pair_threshold": PAIR_THRESHOLD, "l1_scale": "pixels in [0, 1]",
        "target_class": domain_task.domain_class("b"),
        "held_out_split": None if floor or prepared_test is None else prepared_test.get("split"),
    }
    record["timing"]["feature_extraction_s"] += extra_s
    record["timing"]["total_s"] = time.perf_counter() - started
    return record


def _kid(fake: torch.Tensor, real: torch.Tensor, settings: MetricSettings) -> float:
    from torch_fidelity.metric_kid import kid_features_to_metric

    kwargs = settings.fidelity_kwargs(len(fake), len(real))
    return kid_features_to_metric(fake, real, **kwargs)["kernel_inception_distance_mean"]
