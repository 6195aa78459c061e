"""One metrics record per (suite, dataset, extractor, model, seed), and the real-data features it
compares with (computed once per dataset, split, extractor weights and n, kept in a file).

Image samples: features of the samples (torch-fidelity's extraction) vs the cached real features.
Point samples (toy 2D): mode metrics against the mixture stored in the prepared data file.
A diverged run gives a record with status "diverged" and null metrics.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Optional

import torch

from gans.metrics.frechet import feature_statistics
from gans.metrics.scores import (IMAGE_METRIC_KEYS, MetricSettings, class_accuracy, image_metrics,
                                 intra_class_fid)
from gans.metrics.toy import DEFAULT_TOY_PROTOCOL, TOY_METRIC_KEYS, toy_metrics, toy_protocol
from gans.quantize import QUANTIZATION_RULE

if TYPE_CHECKING:  # the extractors load torch-fidelity (and torchvision, ~3 s): image paths import them
    from gans.metrics.extractors import ExtractorOptions
    from gans.metrics.weights import WeightsFile

REAL_SUBSET_SEED = 0


def real_subset_indices(size: int, n: int) -> torch.Tensor:
    """All indices when n equals the split size, else a fixed (seed 0) subset of n, in data order."""
    if n > size:
        raise ValueError(f"asked for {n} real samples, the split has only {size}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if n == size:
        return torch.arange(size)
    pick = torch.randperm(size, generator=torch.Generator().manual_seed(REAL_SUBSET_SEED))[:n]
    return pick.sort().values


def checked_classifier_accuracy(weights: WeightsFile, test: dict[str, Any]) -> float:
    """The classifier's accuracy on the prepared test split, measured here; it must match its
    frozen evaluator's card (or its weights file's record) to 1e-3, else WeightsError."""
    from gans.metrics.classifier import accuracy, load_checked_classifier
    from gans.metrics.evaluators import EvaluatorError, check_accuracy
    from gans.metrics.weights import WeightsError

    if test.get("split") != "test":
        raise ValueError(f"the classifier's accuracy is checked on the test split, got {test.get('split')}")
    loaded = load_checked_classifier(weights.path)
    measured = accuracy(loaded.model, test["data"], test["labels"])
    if loaded.recorded_accuracy is not None:
        try:
            check_accuracy(loaded.card or loaded.record, measured, test["sha256"],
                           f"classifier {loaded.version} ({weights.path})")
        except EvaluatorError as error:
            raise WeightsError(str(error)) from None
    return measured


def compute_real_features(prepared: dict[str, Any], extractor_name: str, options: ExtractorOptions,
                          n: int, device: str = "cpu",
                          classifier_test: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """Features, logits, labels and float64 mu/sigma of n real images of a prepared split.

    `classifier_test` (the classifier extractor): the prepared test split, on which the
    classifier's accuracy is measured and checked (`checked_classifier_accuracy`); without it the
    recorded accuracy is kept, unchecked."""
    if prepared["kind"] != "image":
        raise ValueError(f"real features are for image data; {prepared['dataset']} is {prepared['kind']} "
                         f"(toy metrics read the prepared file directly)")
    from gans.metrics.extractors import extract_features, resolve

    extractor, weights = resolve(extractor_name, options)
    accuracy_checked = classifier_test is not None and extractor.name == "classifier"
    extractor_accuracy = (checked_classifier_accuracy(weights, classifier_test) if accuracy_checked
                          else weights.recorded_accuracy)
    indices = real_subset_indices(len(prepared["data"]), n)
    started = time.perf_counter()
    out = extract_features(extractor, weights, prepared["data"][indices], device)
    mu, sigma = feature_statistics(out["features"])
    return {
        "kind": "real-features", "dataset": prepared["dataset"], "split": prepared["split"],
        "data_sha256": prepared["sha256"], "num_classes": prepared["num_classes"],
        "extractor": extractor.name, "extractor_sha256": weights.sha256,
        "extractor_version": weights.version, "extractor_accuracy": extractor_accuracy,
        "extractor_accuracy_checked": accuracy_checked,
        "feature_layer": extractor.feature_layer, "logits_layer": extractor.logits_layer,
        "n": n, "subset_seed": REAL_SUBSET_SEED if n < len(prepared["data"]) else None,
        "indices": indices, "features": out["features"],
        "logits": out["logits"] if extractor.keep_real_logits else None,
        "labels": prepared["labels"][indices].clone(),
        "mu": torch.from_numpy(mu), "sigma": torch.from_numpy(sigma),  # tensors: plain data on disk
        "feature_dim": int(out["features"].shape[1]),
        "timing": {"extraction_s": time.perf_counter() - started},  # apart: it varies run to run
    }


def _base_record(samples: dict[str, Any], extractor: str) -> dict[str, Any]:
    return {key: samples[key] for key in ("suite", "dataset", "model", "seed")} | {
        "extractor": extractor, "status": samples["status"]}


def _protocol(samples: dict[str, Any], n_real: Optional[int], real_split: Optional[str], extractor: str,
              extractor_sha256: Optional[str], feature_dim: Optional[int],
              settings: Optional[MetricSettings], quantization: str) -> dict[str, Any]:
    n_generated = len(samples["data"])
    return {
        "n_generated": n_generated, "n_real": n_real, "real_split": real_split, "extractor": extractor,
        "extractor_sha256": extractor_sha256, "feature_dim": feature_dim, "quantization": quantization,
        "checkpoint_rule": samples.get("checkpoint_rule"), "seed": samples["seed"],
        "step": samples.get("step"),
        "truncation": samples.get("truncation"),  # None (or absent in older samples): off
        "is_splits": None if settings is None else settings.splits(n_generated),
        "prc_k": None if settings is None else settings.prc_k,
        "dc_k": None if settings is None else settings.dc_k,
        "kid_subsets": None if settings is None else settings.kid_subsets,
        "kid_subset_size": None if settings is None or n_real is None
        else settings.kid_size(n_generated, n_real),
    }


def _has_samples(samples: dict[str, Any]) -> bool:
    return samples["status"] == "completed" and len(samples["data"]) > 0


def evaluate_points(samples: dict[str, Any], prepared: dict[str, Any],
                    protocol_name: str = DEFAULT_TOY_PROTOCOL) -> dict[str, Any]:
    """The metrics record of toy 2D samples against the mixture of a prepared points file, scored
    under a named protocol (gans.metrics.toy.TOY_PROTOCOLS), which the record names."""
    started = time.perf_counter()
    protocol = toy_protocol(protocol_name)
    if prepared.get("kind") != "points" or "modes" not in prepared:
        raise ValueError("toy metrics need --real = the prepared points file (with modes and sigma)")
    if protocol.samples is not None and _has_samples(samples) and len(samples["data"]) != protocol.samples:
        raise ValueError(f"the {protocol.name} protocol scores {protocol.samples} samples, "
                         f"got {len(samples['data'])}")
    record = _base_record(samples, "toy")
    record["metrics"] = dict.fromkeys(TOY_METRIC_KEYS)
    if _has_samples(samples):
        result = toy_metrics(samples["data"], prepared["modes"], float(prepared["sigma"]), protocol)
        record["metrics"], record["per_mode"] = result["metrics"], result["per_mode"]
    else:
        record["status"] = "diverged"
    record["protocol"] = _protocol(samples, len(prepared["data"]), prepared["split"], "toy",
                                   prepared["sha256"], int(prepared["data"].shape[1]), None,
                                   "none (float points)")
    record["protocol"].update({"toy_protocol": protocol.name, "toy_rule": protocol.rule,
                               "sigma": float(prepared["sigma"]),
                               "modes": len(prepared["modes"])})
    record["timing"] = {"total_s": time.perf_counter() - started, "feature_extraction_s": 0.0}
    return record


def _predicted_labels(extractor: str, logits: torch.Tensor, options: ExtractorOptions,
                      images: torch.Tensor, device: str) -> Optional[torch.Tensor]:
    """The domain classifier's predictions: its own logits, or a second pass when the metrics
    extractor is Inception and a classifier was given; None without a classifier."""
    from gans.metrics.extractors import classifier_predictions

    if extractor == "classifier":
        return logits.argmax(1)
    if options.classifier is not None:
        return classifier_predictions(options.classifier, images, device)
    return None


def evaluate_images(samples: dict[str, Any], real: dict[str, Any], extractor_name: str,
                    options: ExtractorOptions, device: str = "cpu",
                    settings: MetricSettings = MetricSettings()) -> dict[str, Any]:
    """The metrics record of image samples against cached real features (same extractor weights)."""
    from gans.metrics.extractors import extract_features, resolve

    started = time.perf_counter()
    if real.get("kind") != "real-features":
        raise ValueError("--real must be a real-features file (python -m gans real-features)")
    if real["dataset"] != samples["dataset"]:
        raise ValueError(f"samples are of {samples['dataset']}, real features of {real['dataset']}")
    record = _base_record(samples, extractor_name)
    record["metrics"] = metrics = dict.fromkeys(IMAGE_METRIC_KEYS)
    extraction_s = 0.0
    if _has_samples(samples):
        extractor, weights = resolve(extractor_name, options)
        if real["extractor"] != extractor.name or real["extractor_sha256"] != weights.sha256:
            raise ValueError(f"real features were made with {real['extractor']} "
                             f"({real['extractor_sha256'][:12]}), this evaluation uses {extractor.name} "
                             f"({weights.sha256[:12]}): recompute them with real-features")
        t0 = time.perf_counter()
        fake = extract_features(extractor, weights, samples["data"], device)
        extraction_s = time.perf_counter() - t0
        metrics.update(image_metrics(fake["features"], fake["logits"], real["features"], real["mu"],
                                     real["sigma"], settings))
        labels = samples.get("labels")
        if labels is not None:
            t0 = time.perf_counter()
            predicted = _predicted_labels(extractor.name, fake["logits"], options, samples["data"], device)
            extraction_s += time.perf_counter() - t0
            record["per_class"] = per_class = {}
            if predicted is not None:
                metrics["class_accuracy"], per_class["class_accuracy"] = class_accuracy(predicted, labels)
            metrics["intra_fid"], per_class["intra_fid"] = intra_class_fid(
                fake["features"], labels, real["features"], real["labels"])
            per_class["n_generated"] = {str(int(c)): int((labels == c).sum()) for c in labels.unique()}
            per_class["n_real"] = {str(int(c)): int((real["labels"] == c).sum()) for c in labels.unique()}
    else:
        record["status"] = "diverged"
    record["protocol"] = _protocol(samples, real["n"], real["split"], extractor_name,
                                   real["extractor_sha256"], real["feature_dim"], settings,
                                   samples.get("quantization") or QUANTIZATION_RULE)
    record["protocol"].update({"extractor_version": real.get("extractor_version"),  # None: older files
                               "extractor_accuracy": real.get("extractor_accuracy"),
                               "real_data_sha256": real["data_sha256"],
                               "feature_layer": real["feature_layer"],
                               "conditional": bool(samples.get("conditional"))})
    record["timing"] = {"total_s": time.perf_counter() - started, "feature_extraction_s": extraction_s}
    return record
