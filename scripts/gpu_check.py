"""GPU check: every model trained a few hundred steps on one device, then sampled and evaluated;
a table of images per second and peak memory per model, and each suite's expected hours.

  python scripts/gpu_check.py                  # CUDA: the cifar10, celeba-64 and mnist suites, and
                                               # CycleGAN as the default suite runs it
  python scripts/gpu_check.py --bf16           # training under bf16 autocast
  python scripts/gpu_check.py --device cpu --steps 2 --warmup 1 --samples 12 \\
      --suite smoke --rest-from none --inception-weights random   # a CPU smoke run (the test's)

What runs, per model, at its suite's widths and config, on stand-in data of the suite dataset's
shape (random images: throughput does not depend on them, and no data set is needed):
  1. a warm-up run (`--warmup` steps; a growing model with phases of one minibatch, so it passes
     through every resolution), which also loads the device's kernels;
  2. the timed runs through gans.train.train, the workflow's own loop (networks in channels-last
     memory; under bf16 autocast with --bf16): one of a single step and one of `--steps` + 1
     steps, whose difference gives the rates, so building, the first step and writing the outputs
     drop out: images per second of wall time and images per CPU-second (CPU time, which other
     work on a shared machine does not inflate); a growing model trains at its full resolution
     from the first step, so the rate is its most expensive phase's;
  3. sampling `--samples` images (gans.sampling) and their evaluation under Inception-v3-compat
     against as many stand-in real images (gans.metrics.evaluate).
Peak memory is torch.cuda.max_memory_allocated over the timed run (training), and over sampling
and evaluation; on the CPU it is not measured. The Inception weights are `--inception-weights`,
else torch-fidelity's (its cache, or its download when online), else a random-weight stand-in of
the same network (`random`): its numbers mean nothing, its time is the real one.

Expected hours per suite: every run's images (its steps replayed, gans.budget) over the model's
measured training rate, times the seeds; sampling and evaluation extrapolated linearly from the
check's sample count (Inception; the mnist suite evaluates under its classifier, cheaper). The
growing models spend part of their budget at lower resolutions, so their hours are upper bounds.

It uses the device directly (no GPU lock files): do not run it beside a workflow on that GPU.
It needs torch >= 2.4 (torch.autocast with bf16, torch.cuda peak-memory counters), so runs on the
pinned 2.14 and on 2.11; nothing else of the project's tests calls it.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import tempfile
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

import torch

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(REPO))

from gans.budget import dataset_spec, run_images  # noqa: E402
from gans.data import content_sha256, load_prepared  # noqa: E402
from gans.io import save_torch_atomic, write_atomic, write_text_atomic  # noqa: E402
from gans.metrics.evaluate import compute_real_features, evaluate_images  # noqa: E402
from gans.metrics.extractors import ExtractorOptions  # noqa: E402
from gans.metrics.inception_stand_in import write_random_inception  # noqa: E402
from gans.metrics.weights import WeightsError, resolve_inception_weights  # noqa: E402
from gans.models import MODELS  # noqa: E402
from gans.models.growing import GrowingGAN  # noqa: E402
from gans.sampling import generate_samples  # noqa: E402
from gans.suite import domain_task_for, load_checked_suite, model_config_for  # noqa: E402
from gans.train import TrainSettings, train  # noqa: E402

GPU_SUITES = ("cifar10", "celeba-64", "mnist")
EXTRACTOR = "inception-v3-compat"
TRAIN_IMAGES = 4096  # stand-in train split: enough for any minibatch of the suites
MIB = 2 ** 20


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu")
    p.add_argument("--suite", action="append", default=None,
                   help=f"a suite name (benchmarks/NAME.yaml) or file; repeatable (default: {', '.join(GPU_SUITES)})")
    p.add_argument("--rest-from", default="default",
                   help="check the registered models that none of the suites trains as this suite "
                        "runs them ('none': skip them)")
    p.add_argument("--models", default=None, help="comma-separated: only these models")
    p.add_argument("--steps", type=int, default=300, help="timed training steps per model")
    p.add_argument("--warmup", type=int, default=20, help="warm-up steps per model (not timed; 0: none)")
    p.add_argument("--samples", type=int, default=5000, help="images sampled and evaluated per model")
    p.add_argument("--bf16", action="store_true", help="train under torch.autocast(dtype=bfloat16)")
    p.add_argument("--train-only", action="store_true",
                   help="time training only (no sampling, no evaluation): a quick CPU estimate")
    p.add_argument("--inception-weights", default=None,
                   help="Inception weights file, or 'random' for the random-weight stand-in "
                        "(default: torch-fidelity's, else the stand-in)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--out", default="results/gpu-check", help="folder for gpu-check.csv and gpu-check.md")
    args = p.parse_args(argv)
    if min(args.steps, args.samples, args.threads) < 1 or args.warmup < 0:
        p.error("--steps, --samples and --threads must be >= 1, --warmup >= 0")
    return args


# --------------------------------------------------------------------------- what to check
@dataclass(frozen=True)
class Check:
    """One model as one suite trains it."""

    suite: dict[str, Any]
    model: str
    in_hours: bool  # counted in its suite's expected hours (not a --rest-from stand-in)

    @property
    def dataset(self) -> str:
        return self.suite["datasets"][0]


def suite_path(name: str) -> Path:
    path = Path(name)
    return path if path.suffix in (".yaml", ".yml") else REPO / "benchmarks" / f"{name}.yaml"


def plan_checks(suites: list[str], rest_from: str, models: Optional[set[str]]) -> list[Check]:
    """Every model of every suite, then the image models none of them trains, from `rest_from`."""
    loaded = [load_checked_suite(suite_path(name)) for name in suites]
    checks = [Check(suite, model, True) for suite in loaded for model in suite["models"]]
    if rest_from != "none":
        covered = {check.model for check in checks}
        rest = load_checked_suite(suite_path(rest_from))
        checks += [Check(rest, model, False) for model in rest["models"] if model not in covered]
    return [check for check in checks if models is None or check.model in models]


# --------------------------------------------------------------------------- stand-in data
def stand_in_split(dataset: str, split: str, n: int, path: Path) -> Path:
    """A prepared split of random images of the dataset's shape and classes (seeded)."""
    spec = dataset_spec(dataset)
    generator = torch.Generator().manual_seed(0 if split == "train" else 1)
    data = torch.randint(0, 256, (n, spec.channels, spec.resolution, spec.resolution),
                         generator=generator, dtype=torch.uint8)
    labels = torch.arange(n) % max(1, spec.num_classes)
    save_torch_atomic(path, {"data": data, "labels": labels, "num_classes": spec.num_classes,
                             "dataset": dataset, "split": split, "resolution": spec.resolution,
                             "kind": "image", "sha256": content_sha256(data, labels)})
    return path


def inception_options(choice: Optional[str], workdir: Path) -> tuple[ExtractorOptions, str]:
    """The evaluator's weights and how the table names them."""
    if choice != "random":
        try:
            weights = resolve_inception_weights(choice, allow_download=True)
            return ExtractorOptions(inception_weights=str(weights.path)), f"Inception ({weights.sha256[:12]})"
        except WeightsError as error:
            if choice is not None:
                raise
            print(f"[gpu-check] no Inception weights ({error}); timing with the random-weight stand-in",
                  flush=True)
    path = write_random_inception(workdir / "random-inception.pth")
    return ExtractorOptions(inception_weights=str(path)), "random-weight Inception stand-in (timing only)"


# --------------------------------------------------------------------------- one model
def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_mib(device: torch.device) -> Optional[float]:
    return torch.cuda.max_memory_allocated(device) / MIB if device.type == "cuda" else None


def growth_config(check: Check, phase_images: Optional[int]) -> dict[str, Any]:
    """The suite's config; for a growing model, phases of `phase_images` (0: full resolution)."""
    config = model_config_for(check.suite, check.model)
    if issubclass(MODELS.get(check.model), GrowingGAN) and phase_images is not None:
        config.update(stable_images=phase_images, fade_images=phase_images)
    return config


def largest_minibatch(check: Check) -> int:
    sizes = model_config_for(check.suite, check.model).get("batch_sizes") or []
    return max([int(check.suite["budget"]["batch_size"]), *sizes])


def train_run(check: Check, args: argparse.Namespace, data: Path, out: Path, steps: int,
              config: dict[str, Any]) -> dict[str, Any]:
    settings = TrainSettings(
        model=check.model, data=str(data), out_dir=str(out), checkpoint_dir=str(out / "checkpoints"),
        seed=0, steps=steps, batch_size=int(check.suite["budget"]["batch_size"]),
        checkpoint_every=steps, model_config=config, domain_task=domain_task_for(check.suite, check.model),
        suite=f"gpu-check-{check.suite['name']}", threads=args.threads, log_every=max(steps, 1))
    autocast = (torch.autocast(device_type=torch.device(args.device).type, dtype=torch.bfloat16)
                if args.bf16 else nullcontext())
    with autocast:
        return train(settings, args.device)


def timed_run(check: Check, args: argparse.Namespace, data: Path, out: Path, steps: int,
              config: dict[str, Any]) -> tuple[dict[str, Any], float]:
    """train() and the CPU seconds the call took (build, loop and outputs)."""
    device = torch.device(args.device)
    synchronize(device)
    started = time.process_time()
    record = train_run(check, args, data, out, steps, config)
    synchronize(device)
    return record, time.process_time() - started


def per_second(images: int, seconds: float) -> Optional[float]:
    return images / seconds if seconds > 0 else None


def check_model(check: Check, args: argparse.Namespace, data: dict[str, Path], real: dict[str, Any],
                options: ExtractorOptions, workdir: Path) -> dict[str, Any]:
    """Warm-up, timed training, sampling and evaluation of one model: one row of the table.

    The rates are the difference of a one-step run and the `--steps` run of the same config, so
    what both pay once (building, the first step, writing the outputs) drops out: images per
    second of the loop's wall time, and images per CPU-second (which other work on a shared CPU
    does not change)."""
    device = torch.device(args.device)
    base = workdir / check.suite["name"] / check.model
    growing = issubclass(MODELS.get(check.model), GrowingGAN)
    if args.warmup:
        train_run(check, args, data["train"], base / "warmup", args.warmup,
                  growth_config(check, largest_minibatch(check) if growing else None))
    config = growth_config(check, 0 if growing else None)
    one, one_cpu = timed_run(check, args, data["train"], base / "one-step", 1, config)
    reset_peak(device)
    record, cpu = timed_run(check, args, data["train"], base / "timed", args.steps + 1, config)
    images = record["images_seen"] - one["images_seen"]
    row: dict[str, Any] = {
        "suite": check.suite["name"], "model": check.model, "dataset": check.dataset,
        "resolution": dataset_spec(check.dataset).resolution, "status": record["status"],
        "train_images_per_s": per_second(images, record["timing"]["wall_time_s"]
                                         - one["timing"]["wall_time_s"]),
        "train_images_per_cpu_s": per_second(images, cpu - one_cpu),
        "train_peak_mib": peak_mib(device),
        "images_per_run": run_images(check.suite, check.model, check.dataset) if check.in_hours else None,
        "in_hours": check.in_hours,
    }
    if args.train_only:
        return row
    reset_peak(device)
    started, cpu_started = time.perf_counter(), time.process_time()
    samples = generate_samples(base / "timed", args.samples, f"gpu-check-{check.suite['name']}", 0,
                               args.device, source_data=str(data["test"]))
    synchronize(device)
    n = len(samples["data"])
    row["sample_images_per_s"] = per_second(n, time.perf_counter() - started)
    row["sample_images_per_cpu_s"] = per_second(n, time.process_time() - cpu_started)
    if n > 5:  # density/coverage needs more than k = 5 images
        started, cpu_started = time.perf_counter(), time.process_time()
        evaluation = evaluate_images(samples, real, EXTRACTOR, options, args.device)
        synchronize(device)
        row["eval_images_per_s"] = per_second(n, time.perf_counter() - started)
        row["eval_images_per_cpu_s"] = per_second(n, time.process_time() - cpu_started)
        row["fid"] = evaluation["metrics"]["fid"]
    row["sample_eval_peak_mib"] = peak_mib(device)
    return row


# --------------------------------------------------------------------------- tables
COLUMNS = {  # CSV column -> Markdown header
    "suite": "Suite", "model": "Model", "dataset": "Dataset", "resolution": "px", "status": "Status",
    "train_images_per_s": "Train images/s", "train_images_per_cpu_s": "Train images/CPU-s",
    "train_peak_mib": "Train peak MiB",
    "sample_images_per_s": "Sample images/s", "sample_images_per_cpu_s": "Sample images/CPU-s",
    "eval_images_per_s": "Evaluate images/s", "eval_images_per_cpu_s": "Evaluate images/CPU-s",
    "sample_eval_peak_mib": "Sample+evaluate peak MiB", "images_per_run": "Images per run",
}
# The rates the expected hours divide by: wall time on a GPU; on the CPU, CPU time (one core's
# hours, which other work on a shared machine does not inflate).
RATES = {"wall": ("train_images_per_s", "sample_images_per_s", "eval_images_per_s"),
         "cpu": ("train_images_per_cpu_s", "sample_images_per_cpu_s", "eval_images_per_cpu_s")}


def cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def markdown(header: list[str], rows: Iterator[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def hours(rows: list[dict[str, Any]], clock: str) -> list[list[Any]]:
    """Per suite: training hours (every run's images over the model's rate, times the seeds) and
    sampling + evaluation hours of its evaluation samples, extrapolated from the check; None
    where a model has no rate (it diverged, or too few samples to evaluate)."""
    train_key, sample_key, eval_key = RATES[clock]
    by_suite: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["in_hours"]:
            by_suite.setdefault(row["suite"], []).append(row)
    table = []
    for suite, members in by_suite.items():
        loaded = load_checked_suite(suite_path(suite))
        seeds, n = len(loaded["seeds"]), int(loaded["evaluation"]["n_generated"])
        train_h = (sum(seeds * r["images_per_run"] / r[train_key] for r in members) / 3600
                   if all(r.get(train_key) for r in members) else None)
        eval_h = (sum(seeds * n * (1 / r[sample_key] + 1 / r[eval_key]) for r in members) / 3600
                  if all(r.get(sample_key) and r.get(eval_key) for r in members) else None)
        table.append([suite, len(members), seeds, train_h, eval_h])
    return table


def write_tables(rows: list[dict[str, Any]], args: argparse.Namespace, evaluator: str) -> Path:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def write_csv(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=[*COLUMNS, "fid", "in_hours"])
            writer.writeheader()
            writer.writerows({key: row.get(key) for key in writer.fieldnames} for row in rows)

    write_atomic(out / "gpu-check.csv", write_csv)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    clock = "wall" if device.type == "cuda" else "cpu"
    clock_text = ("wall-clock hours" if clock == "wall"
                  else "hours of one CPU core, from CPU time: other work on the machine does not count")
    text = [
        "# GPU check\n",
        f"Device {args.device} ({name}); torch {torch.__version__}; training in "
        f"{'bf16 autocast' if args.bf16 else 'float32'}, channels-last; {args.steps} timed steps "
        f"after {args.warmup} warm-up steps per model; "
        + ("no sampling, no evaluation" if args.train_only else
           f"{args.samples} images sampled and evaluated per model under {evaluator}")
        + ". Growing models train at full resolution in the timed run.\n",
        markdown(list(COLUMNS.values()), ([row.get(key) for key in COLUMNS] for row in rows)),
        f"\nExpected hours for each suite's budget on this device ({clock_text}; training: every "
        "run's images over the measured rate, times the seeds; growing models at their "
        "full-resolution rate, so an upper bound; sampling and evaluation of n_generated images "
        "per run, extrapolated linearly from the check under Inception):\n",
        markdown(["Suite", "Models", "Seeds", "Training hours", "Sampling + evaluation hours"],
                 iter(hours(rows, clock))),
    ]
    return write_text_atomic(out / "gpu-check.md", "\n".join(text))


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("[gpu-check] CUDA is not available here: run it where a GPU is, or use --device cpu",
              file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    models = set(args.models.split(",")) if args.models else None
    checks = plan_checks(args.suite or list(GPU_SUITES), args.rest_from, models)
    rows = []
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        workdir = Path(tmp)
        options, evaluator = (ExtractorOptions(), "nothing (--train-only)") if args.train_only else \
            inception_options(args.inception_weights, workdir)
        data: dict[str, dict[str, Path]] = {}
        real: dict[str, dict[str, Any]] = {}
        for check in checks:
            if check.dataset not in data:
                folder = workdir / "data" / check.dataset
                data[check.dataset] = {
                    "train": stand_in_split(check.dataset, "train", TRAIN_IMAGES, folder / "train.pt"),
                    # every class several times: a class-pair domain task needs both of its classes
                    "test": stand_in_split(check.dataset, "test",
                                           max(args.samples, 4 * dataset_spec(check.dataset).num_classes),
                                           folder / "test.pt")}
                if not args.train_only:
                    real[check.dataset] = compute_real_features(
                        load_prepared(data[check.dataset]["test"]), EXTRACTOR, options, args.samples,
                        args.device)
            print(f"[gpu-check] {check.suite['name']} / {check.model} ...", flush=True)
            row = check_model(check, args, data[check.dataset], real.get(check.dataset, {}), options,
                              workdir)
            print(f"[gpu-check] {check.suite['name']} / {check.model}: "
                  f"{cell(row['train_images_per_s'])} train images/s, "
                  f"{cell(row['train_images_per_cpu_s'])} per CPU-s, peak {cell(row['train_peak_mib'])} MiB",
                  flush=True)
            rows.append(row)
    path = write_tables(rows, args, evaluator)
    print(f"[gpu-check] {len(rows)} models -> {path} and {path.with_suffix('.csv')}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
