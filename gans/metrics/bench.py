"""Speed benchmark of the metric suite (a script, not a timed test):

  python -m gans.metrics.bench [--threads 1] [--dim 2048] [--classifier CLS.pt] [--samples S.pt]

(a) our Fréchet distance (eigh route) against the scipy.linalg.sqrtm route on the same d x d
    statistics: times, speed-up, agreement;
(b) one evaluation of 10k samples with every image metric against cached real features: total
    time and the share spent in feature extraction. Uses the classifier at --classifier, else
    the dataset's frozen evaluator, else trains a quick one (1 epoch); uses --samples, else
    noised real images with their labels.

BLAS threads are fixed before numpy loads, so both routes run on the same number of cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional, Sequence

FASHION_MNIST = Path("results/data/fashion-mnist")


def _print(line: str) -> None:
    print(line, flush=True)


def random_statistics(dim: int, seed: int = 0) -> tuple[Any, Any, Any, Any]:
    """Two full-rank covariance matrices (from 2 x dim samples each) and means."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2 * dim, dim))
    y = rng.standard_normal((2 * dim, dim)) * 1.1 + 0.05 * rng.standard_normal(dim)
    return x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False)


def sqrtm_route(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> float:
    """The classic pytorch-fid / TTUR formula: tr sqrtm(S1 S2) with scipy."""
    import numpy as np
    import scipy.linalg

    diff = mu1 - mu2
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean).real)


def bench_frechet(dim: int) -> dict[str, float]:
    from gans.metrics.frechet import frechet_distance

    stats = random_statistics(dim)
    t0 = time.perf_counter()
    ours = frechet_distance(*stats)
    ours_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs = sqrtm_route(*stats)
    sqrtm_s = time.perf_counter() - t0
    return {"dim": dim, "ours_s": ours_s, "sqrtm_s": sqrtm_s, "speedup": sqrtm_s / ours_s,
            "ours": ours, "sqrtm": theirs, "relative_difference": abs(ours - theirs) / abs(theirs)}


def _prepared_splits(data_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fashion-MNIST when prepared, else a synthetic pattern set of the same size."""
    from gans.data import load_prepared
    from gans.metrics.synthetic import pattern_images, prepared_split

    if (data_dir / "train.pt").is_file() and (data_dir / "test.pt").is_file():
        return load_prepared(data_dir / "train.pt"), load_prepared(data_dir / "test.pt")
    _print(f"[bench] {data_dir} has no prepared train/test split: using synthetic patterns")
    return (prepared_split(*pattern_images(20_000, seed=0), "train"),
            prepared_split(*pattern_images(10_000, seed=1), "test"))


def _noised_real_samples(train: dict[str, Any], n: int, seed: int = 0) -> dict[str, Any]:
    """Stand-in generated samples: real train images plus Gaussian noise, quantized by the rule."""
    import torch

    from gans.quantize import quantize_to_uint8, uint8_to_float

    g = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(train["data"]), generator=g)[:n]
    images = uint8_to_float(train["data"][pick])
    noised = quantize_to_uint8(images + 0.1 * torch.randn(images.shape, generator=g))
    return {"data": noised, "labels": train["labels"][pick].clone(), "kind": "image", "status": "completed",
            "model": "noised-real", "dataset": train["dataset"], "seed": seed, "suite": "bench", "step": 0,
            "checkpoint_rule": "noised real train images", "conditional": True}


def bench_evaluation(n: int, classifier: Optional[str], samples_path: Optional[str],
                     data_dir: Path, workdir: Path) -> dict[str, float]:
    import torch

    from gans.io import load_torch, save_torch_atomic
    from gans.metrics.classifier import train_classifier
    from gans.metrics.evaluate import compute_real_features, evaluate_images
    from gans.metrics.extractors import ExtractorOptions

    from gans.metrics.evaluators import frozen_weights

    train, test = _prepared_splits(data_dir)
    if classifier is None and frozen_weights(train["dataset"]) is not None:
        classifier = str(frozen_weights(train["dataset"]))  # the dataset's frozen evaluator
    if classifier is None:
        t0 = time.perf_counter()
        trained = train_classifier(train, test, seed=0, epochs=1)
        classifier = str(workdir / "bench-classifier.pt")
        save_torch_atomic(classifier, trained.record())
        _print(f"[bench] trained a quick 1-epoch classifier: test accuracy {trained.test_accuracy:.4f} "
               f"in {time.perf_counter() - t0:.1f} s")
    if samples_path is not None:
        samples = load_torch(samples_path)
    else:
        samples = _noised_real_samples(train, n)
    options = ExtractorOptions(classifier=classifier)
    n_real = min(n, len(test["data"]))
    t0 = time.perf_counter()
    real = compute_real_features(test, "classifier", options, n_real)
    real_s = time.perf_counter() - t0
    record = evaluate_images(samples, real, "classifier", options)
    timing = record["timing"]
    return {"n_generated": len(samples["data"]), "n_real": n_real, "real_features_s": real_s,
            "total_s": timing["total_s"], "feature_extraction_s": timing["feature_extraction_s"],
            "extraction_share": timing["feature_extraction_s"] / timing["total_s"],
            **{f"metric_{k}": v for k, v in record["metrics"].items() if v is not None}}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gans.metrics.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads")
    parser.add_argument("--dim", type=int, default=2048, help="feature dimension of the FD comparison")
    parser.add_argument("--n", type=int, default=10_000, help="generated samples (and real, capped by the split)")
    parser.add_argument("--classifier", default=None, help="trained classifier weights; else train a quick one")
    parser.add_argument("--samples", default=None, help="a samples file; else noised real images")
    parser.add_argument("--data-dir", default=str(FASHION_MNIST), help="prepared train.pt / test.pt")
    parser.add_argument("--skip", choices=["frechet", "evaluation"], default=None)
    args = parser.parse_args(argv)
    if "numpy" in sys.modules:
        _print("[bench] note: numpy was loaded before the BLAS thread count could be set")
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    _print(f"[bench] {args.threads} thread(s); timings are approximate on a shared machine")
    if args.skip != "frechet":
        fd = bench_frechet(args.dim)
        _print(f"[bench] Fréchet distance at d={fd['dim']}: ours (symmetric route) {fd['ours_s']:.2f} s, "
               f"scipy sqrtm route {fd['sqrtm_s']:.2f} s, speed-up {fd['speedup']:.1f}x "
               f"(values {fd['ours']:.6f} vs {fd['sqrtm']:.6f}, relative difference "
               f"{fd['relative_difference']:.1e})")
    if args.skip != "evaluation":
        with tempfile.TemporaryDirectory() as workdir:
            ev = bench_evaluation(args.n, args.classifier, args.samples, Path(args.data_dir), Path(workdir))
        _print(f"[bench] real features of {ev['n_real']} test images (computed once, cached): "
               f"{ev['real_features_s']:.1f} s")
        _print(f"[bench] evaluation of {ev['n_generated']} samples, all metrics: total {ev['total_s']:.1f} s, "
               f"feature extraction {ev['feature_extraction_s']:.1f} s ({100 * ev['extraction_share']:.0f}%)")
        shown = ", ".join(f"{k[7:]} {v:.4g}" for k, v in ev.items() if k.startswith("metric_"))
        _print(f"[bench] metrics: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
