"""The metric commands: train-classifier, real-features, evaluate."""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from gans.data import load_prepared
from gans.gpu_lock import add_device_arguments, job_device
from gans.io import load_torch
from gans.metrics.toy import DEFAULT_TOY_PROTOCOL, TOY_PROTOCOLS
from gans.threads import pin_threads

DEFAULT_RECIPE_NAME = "v2"  # gans.metrics.classifier.DEFAULT_RECIPE (not imported here: fast --help)

if TYPE_CHECKING:
    from gans.metrics.extractors import ExtractorOptions


def _add_extractor_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--classifier", default=None,
                   help="domain classifier weights: a frozen evaluator (gans/metrics/evaluators/*.pt, "
                        "checked against its card) or train-classifier --out; needed by --extractor "
                        "classifier, and gives class accuracy of conditional samples under Inception")
    p.add_argument("--inception-weights", default=None,
                   help="local Inception weights file (torch-fidelity's weights-inception-2015-12-05); "
                        "default: torch.hub's cache, downloaded there when online")
    p.add_argument("--inception-sha256", default=None, help="expected sha256 of the Inception weights")
    p.add_argument("--no-download", action="store_true", help="never download Inception weights")
    add_device_arguments(p, default="cpu")  # where the features are extracted
    p.add_argument("--threads", type=int, default=1,
                   help="torch and BLAS CPU threads (the last digits of the metrics depend on it)")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train-classifier", help="train the dataset's domain classifier (the 'classifier' extractor)",
        description="Train a small CNN on a prepared train split with a fixed seed and a recipe "
                    "(gans.metrics.classifier.RECIPES), measure it on the test split, and write its "
                    "weights and an info JSON (accuracy, sha256 of the weights' tensors, recipe, torch "
                    "version, CPU capability). Fails when the test accuracy is below the recipe's "
                    "min_accuracy. --freeze NAME writes a frozen evaluator's card instead of the info.")
    p.add_argument("--train", required=True, help="prepared train split (.pt)")
    p.add_argument("--test", required=True, help="prepared test split (.pt)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="weights file to write (.pt)")
    p.add_argument("--info", required=True,
                   help="JSON to write: accuracy, sha256, recipe, ... (with --freeze: the card, which "
                        "must be the weights file's name with .json)")
    p.add_argument("--recipe", default=DEFAULT_RECIPE_NAME, help="training recipe: v2 (default) or v1")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", dest="overrides",
                   help="override one recipe field (epochs, batch_size, lr, schedule, warmup, "
                        "weight_decay, augment, shift, min_accuracy); repeatable")
    p.add_argument("--epochs", type=int, default=None, help="the recipe's epochs, overridden")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (results depend on it)")
    p.add_argument("--min-accuracy", type=float, default=None,
                   help="fail (and write nothing) below this test accuracy (default: the recipe's)")
    p.add_argument("--freeze", default=None, metavar="NAME",
                   help="mark the weights as the frozen evaluator NAME and write its card")
    p.set_defaults(func=cmd_train_classifier)

    p = subparsers.add_parser(
        "real-features", help="features and float64 statistics of n real images, computed once",
        description="Extract features (and logits, labels, float64 mu/sigma) of n images of a prepared "
                    "split with one extractor, into one file that every evaluation reuses. n below the "
                    "split size takes a fixed seed-0 subset; n above it is an error.")
    p.add_argument("--data", required=True, help="prepared split (.pt)")
    p.add_argument("--extractor", required=True, choices=["classifier", "inception-v3-compat"])
    p.add_argument("--n", type=int, required=True,
                   help="number of real images (with --domain-task: at most; all the domain's when fewer)")
    p.add_argument("--out", required=True, help="features file to write (.pt)")
    p.add_argument("--domain-task", default=None,
                   help="features of one domain of this two-domain task (gans.data.DOMAIN_TASKS) "
                        "in the split, instead of the whole split")
    p.add_argument("--domain", choices=["a", "b"], default=None, help="with --domain-task: which domain")
    p.add_argument("--classifier-test", default=None, metavar="TEST.pt",
                   help="with --extractor classifier: the prepared test split; the classifier's accuracy "
                        "on it is measured, must match its card (or weights file) to 1e-3, and is recorded")
    _add_extractor_options(p)
    p.set_defaults(func=cmd_real_features)

    p = subparsers.add_parser(
        "evaluate", help="metrics of one samples file -> one metrics JSON",
        description="Image samples: FID, IS, KID, precision/recall, density/coverage (and class accuracy, "
                    "intra-class FID for labelled samples) against a real-features file. Point samples: "
                    "--extractor toy and --real = the prepared points file. Diverged samples give null "
                    "metrics. The JSON is written atomically.")
    p.add_argument("--samples", required=True, help="samples file (.pt) from sample / sample-real")
    p.add_argument("--real", required=True, help="real-features file, or the prepared file for toy data")
    p.add_argument("--extractor", required=True, choices=["classifier", "inception-v3-compat", "toy"])
    p.add_argument("--out", required=True, help="metrics JSON to write")
    p.add_argument("--domain-real", action="append", default=[], metavar="DOMAIN=PATH",
                   help="two-domain samples: the real-features file of another domain (a or b) of "
                        "their domain task; --real is the one of their primary output's domain")
    p.add_argument("--source-data", default=None,
                   help="two-domain samples: the prepared test split their held-out inputs came from")
    p.add_argument("--toy-protocol", default=DEFAULT_TOY_PROTOCOL, choices=list(TOY_PROTOCOLS),
                   help="point samples: the protocol that scores them (cut-off, capture rule, "
                        "sample count; gans/metrics/toy.py)")
    _add_extractor_options(p)
    p.set_defaults(func=cmd_evaluate)


def _extractor_options(args: argparse.Namespace) -> "ExtractorOptions":
    from gans.metrics.extractors import ExtractorOptions

    return ExtractorOptions(classifier=args.classifier, inception_weights=args.inception_weights,
                            inception_sha256=args.inception_sha256, allow_download=not args.no_download)


def parse_overrides(entries: list[str]) -> dict[str, Any]:
    """FIELD=VALUE strings -> recipe overrides, each value as YAML (numbers, words)."""
    import yaml

    overrides = {}
    for entry in entries:
        name, sep, value = entry.partition("=")
        if not sep:
            raise SystemExit(f"[train-classifier] --set takes FIELD=VALUE, got {entry!r}")
        overrides[name.strip()] = yaml.safe_load(value)
    return overrides


def cmd_train_classifier(args: argparse.Namespace) -> int:
    from gans.io import save_torch_atomic, write_json_atomic
    from gans.metrics.classifier import RECIPES, dead_units, features_of, train_classifier
    from gans.metrics.evaluators import CARD_KIND, card_path, cpu_capability
    from gans.metrics.weights import tensors_sha256

    torch.set_num_threads(args.threads)
    overrides = parse_overrides(args.overrides)
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    if args.min_accuracy is not None:
        overrides["min_accuracy"] = args.min_accuracy
    try:
        recipe = RECIPES.get(args.recipe).overridden(overrides)
    except (KeyError, ValueError) as error:
        raise SystemExit(f"[train-classifier] {error.args[0]}") from None
    if args.freeze and card_path(args.out) != Path(args.info):
        raise SystemExit(f"[train-classifier] --freeze: the card must be {card_path(args.out)} "
                         f"(the weights file's name with .json), got --info {args.info}")
    train, test = load_prepared(args.train), load_prepared(args.test)
    print(f"[train-classifier] {train['dataset']}: {len(train['data'])} train / {len(test['data'])} test "
          f"images, seed {args.seed}, recipe {args.recipe} {asdict(recipe)}, {args.threads} thread(s)",
          flush=True)
    trained = train_classifier(train, test, seed=args.seed, recipe=recipe,
                               log=lambda line: print(f"[train-classifier] {line}", flush=True))
    print(f"[train-classifier] test accuracy {trained.test_accuracy:.4f} "
          f"({trained.train_seconds:.1f} s training)", flush=True)
    if trained.test_accuracy < recipe.min_accuracy:
        raise SystemExit(f"[train-classifier] FAILED: test accuracy {trained.test_accuracy:.4f} is below "
                         f"--min-accuracy {recipe.min_accuracy}; the classifier is not good enough to "
                         f"measure samples with. Nothing was written.")
    dead = dead_units(features_of(trained.model, test["data"]))
    record = trained.record()
    if args.freeze:
        record["evaluator"] = args.freeze
    save_torch_atomic(args.out, record)
    sha256 = tensors_sha256(args.out)
    arch = trained.model.arch
    info = {"dataset": trained.dataset, "test_accuracy": trained.test_accuracy, "sha256": sha256,
            "tensors_sha256": sha256, "seed": trained.seed, "epochs": trained.epochs,
            "architecture": asdict(arch), "feature_layer": arch.feature_layer,
            "feature_dim": arch.feature_dim, "dead_feature_units": dead,
            "recipe": {"name": args.recipe, **asdict(recipe)}, "threads": args.threads,
            "epoch_losses": trained.epoch_losses,
            "train_data_sha256": train["sha256"], "test_data_sha256": test["sha256"],
            "trained_with": {"torch": torch.__version__, "cpu_capability": cpu_capability()},
            "timing": {"train_s": trained.train_seconds}}  # apart: it varies run to run
    if args.freeze:
        info = {"kind": CARD_KIND, "name": args.freeze, "version": arch.name,
                "weights_file": Path(args.out).name, **info}
        del info["sha256"]  # the card names it tensors_sha256 only
    write_json_atomic(args.info, info)
    print(f"[train-classifier] {dead} dead feature unit(s) of {arch.feature_dim} on the test split; "
          f"sha256 {sha256[:12]} -> {args.out}, {args.info}", flush=True)
    return 0


def cmd_real_features(args: argparse.Namespace) -> int:
    with pin_threads(args.threads), job_device(args.device, args.gpu_lock_dir, "[real-features]") as device:
        return _real_features(argparse.Namespace(**{**vars(args), "device": device}))


def _real_features(args: argparse.Namespace) -> int:
    from gans.io import save_torch_atomic
    from gans.metrics.evaluate import compute_real_features
    from gans.metrics.weights import WeightsError

    prepared, n = load_prepared(args.data), args.n
    if (args.domain_task is None) != (args.domain is None):
        raise SystemExit("[real-features] --domain-task and --domain go together")
    if args.domain_task is not None:
        from gans.data import DOMAIN_TASKS

        prepared = DOMAIN_TASKS.get(args.domain_task).held_out_split(prepared, args.domain)
        n = min(n, len(prepared["data"]))
        print(f"[real-features] domain {args.domain} of {args.domain_task}", flush=True)
    print(f"[real-features] {prepared['dataset']}/{prepared['split']}: {n} of {len(prepared['data'])} "
          f"images, extractor {args.extractor}", flush=True)
    classifier_test = load_prepared(args.classifier_test) if args.classifier_test else None
    try:
        record = compute_real_features(prepared, args.extractor, _extractor_options(args), n, args.device,
                                       classifier_test)
    except WeightsError as error:
        raise SystemExit(f"[real-features] {error}") from error
    if args.domain_task is not None:
        record.update(domain_task=args.domain_task, domain=args.domain)
    save_torch_atomic(args.out, record)
    if record["extractor_version"] is not None:
        checked = "measured and checked" if record["extractor_accuracy_checked"] else "recorded, not re-checked"
        print(f"[real-features] classifier {record['extractor_version']}: test accuracy "
              f"{record['extractor_accuracy']:.4f} ({checked})", flush=True)
    print(f"[real-features] {record['feature_dim']}-d features, extractor sha256 "
          f"{record['extractor_sha256'][:12]}, {record['timing']['extraction_s']:.1f} s "
          f"-> {args.out}", flush=True)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    with pin_threads(args.threads), job_device(args.device, args.gpu_lock_dir, "[evaluate]") as device:
        return _evaluate(argparse.Namespace(**{**vars(args), "device": device}))


def _evaluate(args: argparse.Namespace) -> int:
    from gans.io import write_json_atomic
    from gans.metrics.evaluate import evaluate_images, evaluate_points

    started = time.perf_counter()  # after the imports: timing is of the evaluation itself
    samples = load_torch(args.samples)
    real = load_torch(args.real)
    print(f"[evaluate] {samples['model']} seed {samples['seed']} on {samples['dataset']}: "
          f"{len(samples['data'])} {samples['kind']} samples ({samples['status']}), extractor "
          f"{args.extractor}", flush=True)
    if samples["kind"] == "points":
        if args.extractor != "toy":
            raise SystemExit("[evaluate] point samples are measured with --extractor toy")
        try:
            record = evaluate_points(samples, real, args.toy_protocol)
        except ValueError as error:
            raise SystemExit(f"[evaluate] {error}") from error
    else:
        if args.extractor == "toy":
            raise SystemExit("[evaluate] --extractor toy is for point samples only")
        from gans.metrics.weights import WeightsError  # loads torch-fidelity: image data only

        try:
            if samples.get("domain_task"):
                record = _evaluate_two_domain(samples, real, args)
            else:
                record = evaluate_images(samples, real, args.extractor, _extractor_options(args), args.device)
        except WeightsError as error:
            raise SystemExit(f"[evaluate] {error}") from error
    record["timing"]["total_s"] = time.perf_counter() - started
    write_json_atomic(args.out, record)
    shown = ", ".join(f"{k} {v:.4g}" for k, v in record["metrics"].items() if v is not None)
    print(f"[evaluate] {record['status']}: {shown or 'no metrics'} -> {args.out}", flush=True)
    return 0


def _evaluate_two_domain(samples: dict, real: dict, args: argparse.Namespace) -> dict:
    """Two-domain samples: --real is their primary output's domain, --domain-real the others'."""
    from gans.metrics.two_domain import evaluate_two_domain

    references = {real.get("domain"): real}
    for entry in args.domain_real:
        domain, _, path = entry.partition("=")
        if not path:
            raise SystemExit(f"[evaluate] --domain-real takes DOMAIN=PATH, got {entry!r}")
        references[domain] = torch.load(Path(path), map_location="cpu", weights_only=False)
    prepared_test = load_prepared(args.source_data) if args.source_data else None
    return evaluate_two_domain(samples, references, args.extractor, _extractor_options(args),
                               prepared_test, args.device)
