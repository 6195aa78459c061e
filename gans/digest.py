"""A suite's fingerprint: the content hash of every trained model and samples file and every
metric value at full precision, so that two runs of a suite can be compared bit for bit.

The report's tables round their numbers and its cost table holds wall times, so two reports
cannot show whether two runs agree to the last bit; this file can. The workflow writes it into
the report folder (reports/<suite>/digest.json); `make reproduce` reruns the default suite in
portable mode and compares its digest with the committed one (`python -m gans check-digest`).
Wall times, paths and machine names are left out on purpose: they differ between identical runs.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any, Mapping

from gans.layout import (ResultsLayout, evaluated_models, extractors_for, runs, truncation_label,
                         truncation_runs)

DIGEST_VERSION = 1


def _load_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run the suite first")
    return json.loads(path.read_text())


def _exact(value: Any) -> Any:
    """A metric value as text that round-trips exactly (repr of a float), NaN/inf by name."""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return value


def _metrics_entry(path: Path) -> dict[str, Any]:
    record = _load_json(path)
    return {"status": record.get("status"),
            "metrics": {name: _exact(value) for name, value in sorted(record.get("metrics", {}).items())}}


def _weights_entry(final: Path, status: Path) -> dict[str, Any]:
    from gans.io import content_digest, load_torch

    record = load_torch(final)
    networks = content_digest(record["networks"])
    run = _load_json(status)
    # not the config hash: it changes when a model gains a setting that leaves its result alone
    return {"step": record.get("step"), "networks_sha256": networks,
            "data_sha256": run.get("data_sha256"),
            "portable_mode": run.get("provenance", {}).get("numeric", {}).get("portable_mode")}


def _samples_entry(path: Path) -> str:
    from gans.io import content_digest, load_torch

    return content_digest(load_torch(path))


def suite_digest(suite: Mapping[str, Any], layout: ResultsLayout, inception: bool = False) -> dict[str, Any]:
    """Hashes of every run's networks and samples, and every metric, of one finished suite."""
    trained: dict[str, Any] = {}
    for dataset, model, seed in runs(suite):
        key = f"{dataset}/{model}/seed{seed}"
        trained[key] = _weights_entry(Path(layout.final_weights(dataset, model, seed)),
                                      Path(layout.status_file(dataset, model, seed)))
        trained[key]["samples_sha256"] = _samples_entry(Path(layout.samples_file(dataset, model, seed)))
    metrics: dict[str, Any] = {}
    for dataset in suite["datasets"]:
        for extractor in extractors_for(suite, dataset, inception):
            for model in evaluated_models(suite):
                for seed in suite["seeds"]:
                    path = Path(layout.metrics_file(dataset, extractor, model, seed))
                    metrics[f"{dataset}/{extractor}/{model}/seed{seed}"] = _metrics_entry(path)
    for dataset, model, seed, truncation in truncation_runs(suite):
        for extractor in extractors_for(suite, dataset, inception):
            path = Path(layout.truncated_metrics_file(dataset, extractor, model, seed, truncation))
            key = f"{dataset}/{extractor}/{model}/seed{seed}/truncation{truncation_label(truncation)}"
            metrics[key] = _metrics_entry(path)
    return {"digest_version": DIGEST_VERSION, "suite": suite["name"], "runs": trained,
            "metrics": metrics}


def compare_digests(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> list[str]:
    """Every difference between two digests, one line each (empty: bit-identical)."""
    differences: list[str] = []

    def walk(a: Any, b: Any, where: str) -> None:
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            for key in sorted(set(a) | set(b)):
                if key not in b:
                    differences.append(f"{where}/{key}: only in the expected digest")
                elif key not in a:
                    differences.append(f"{where}/{key}: only in the new digest")
                else:
                    walk(a[key], b[key], f"{where}/{key}")
        elif a != b:
            differences.append(f"{where}: expected {a!r}, got {b!r}")

    walk(expected, actual, "")
    return differences


def write_digest(digest: Mapping[str, Any], out: Path) -> None:
    from gans.io import write_text_atomic

    write_text_atomic(out, json.dumps(digest, indent=1, sort_keys=True) + "\n")


# --------------------------------------------------------------------------- commands
def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("digest", help="hashes of a finished suite's models and samples, "
                                             "and its metrics at full precision, as one JSON file")
    p.add_argument("--suite-file", required=True, help="benchmarks/<suite>.yaml")
    p.add_argument("--results", required=True, help="the suite's results folder (results/<suite>)")
    p.add_argument("--out", required=True, help="digest JSON (reports/<suite>/digest.json)")
    p.add_argument("--inception", action="store_true",
                   help="the workflow evaluated with inception-v3-compat too")
    p.set_defaults(func=cmd_digest)

    p = subparsers.add_parser("check-digest", help="compare two suite digests bit for bit")
    p.add_argument("expected", help="the committed digest (reports/<suite>/digest.json)")
    p.add_argument("actual", help="the digest of the rerun")
    p.set_defaults(func=cmd_check_digest)


def cmd_digest(args: argparse.Namespace) -> int:
    from gans.suite import load_suite

    suite = load_suite(args.suite_file)
    digest = suite_digest(suite, ResultsLayout.from_suite_dir(args.results), args.inception)
    write_digest(digest, Path(args.out))
    print(f"[digest] {len(digest['runs'])} runs, {len(digest['metrics'])} metrics files -> {args.out}")
    return 0


def cmd_check_digest(args: argparse.Namespace) -> int:
    expected = _load_json(Path(args.expected))
    actual = _load_json(Path(args.actual))
    differences = compare_digests(expected, actual)
    if differences:
        print(f"[check-digest] {len(differences)} differences between {args.expected} and "
              f"{args.actual}:")
        for line in differences[:50]:
            print(f"  {line}")
        if len(differences) > 50:
            print(f"  ... and {len(differences) - 50} more")
        return 1
    print(f"[check-digest] bit-identical: {len(expected['runs'])} runs and "
          f"{len(expected['metrics'])} metrics files match {args.expected}")
    return 0
