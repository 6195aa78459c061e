"""The one training loop every variant runs in.

It owns what is common to all GANs: seeding (Python, NumPy, torch, data order), the step budget,
periodic checkpoints with model, optimizer, data-order and RNG states (written outside the
workflow's declared outputs), resume from the newest valid checkpoint, the per-step loss log,
images per second, and divergence detection. A variant only sees minibatches.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch

from gans.data import BatchStream, load_prepared, spec_of
from gans.models import MODELS, GANVariant, build_model
from gans.provenance import provenance
from gans.seeding import rng_state, seed_everything, set_rng_state


@dataclass
class TrainSettings:
    """Everything that fixes a run. Two runs with equal settings produce identical files on CPU."""

    model: str
    data: str                       # prepared train split (results/data/<dataset>/train.pt)
    out_dir: str                    # declared outputs: final.pt, losses.csv, status.json
    checkpoint_dir: str             # not declared: survives a failed or killed job
    seed: int = 0
    steps: int = 1000               # generator updates
    batch_size: int = 64
    checkpoint_every: int = 200
    model_config: dict[str, Any] = field(default_factory=dict)
    suite: str = ""
    device: str = "cpu"             # "cpu", "cuda", "cuda:N"
    threads: int = 1
    deterministic: bool = False     # torch.use_deterministic_algorithms on GPU
    log_every: int = 50
    keep_checkpoints: int = 2

    def identity_hash(self, data_sha256: str) -> str:
        """Hash of what determines the trajectory (not where files go, not the log cadence).

        The step budget is left out on purpose: a longer run may resume a shorter one's checkpoints.
        """
        keys = ("model", "seed", "batch_size", "model_config", "deterministic")
        identity = {k: getattr(self, k) for k in keys}
        identity["data_sha256"] = data_sha256
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def validate_settings(settings: TrainSettings) -> None:
    if settings.model not in MODELS:
        raise ValueError(f"model: unknown model {settings.model!r} (known: {', '.join(MODELS.names())})")
    for name in ("steps", "batch_size", "checkpoint_every", "threads", "log_every"):
        if getattr(settings, name) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(settings, name)}")
    if not Path(settings.data).is_file():
        raise FileNotFoundError(f"prepared data {settings.data} does not exist (run `python -m gans prepare`)")


# --------------------------------------------------------------------------- checkpoints
def checkpoint_path(directory: Path, step: int) -> Path:
    return directory / f"step{step:08d}.pt"


def save_atomic(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(text: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text)
    os.replace(tmp, path)


def newest_valid_checkpoint(directory: Path, identity: str) -> Optional[dict[str, Any]]:
    """The newest checkpoint that loads and belongs to this exact run; corrupt or foreign ones
    (another config or data) are skipped with a message."""
    if not directory.is_dir():
        return None
    for path in sorted(directory.glob("step*.pt"), reverse=True):
        try:
            state = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as error:  # truncated or corrupt file
            print(f"[train] skipping unreadable checkpoint {path}: {error}", flush=True)
            continue
        if state.get("identity") != identity:
            print(f"[train] skipping checkpoint {path}: it belongs to other settings", flush=True)
            continue
        return state
    return None


def prune_checkpoints(directory: Path, keep: int) -> None:
    for path in sorted(directory.glob("step*.pt"))[:-keep]:
        path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- the loop
class Diverged(Exception):
    def __init__(self, step: int, losses: dict[str, float]) -> None:
        super().__init__(f"non-finite loss at step {step}: {losses}")
        self.step = step
        self.losses = losses


def _configure_torch(settings: TrainSettings, device: torch.device) -> None:
    torch.set_num_threads(settings.threads)
    if settings.deterministic and device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False


def train(settings: TrainSettings, device: Optional[str] = None) -> dict[str, Any]:
    """Run (or resume) one training job; writes final.pt, losses.csv and status.json.

    Returns the status record. A non-finite loss ends the run with status "diverged" (the files
    are still written, so the workflow goes on and the report can show it).
    """
    validate_settings(settings)
    device_ = torch.device(device or settings.device)
    _configure_torch(settings, device_)
    out_dir, ckpt_dir = Path(settings.out_dir), Path(settings.checkpoint_dir)
    label = f"{settings.model}/{Path(settings.data).parent.name}/seed{settings.seed}"

    seed_everything(settings.seed)
    prepared = load_prepared(settings.data)
    identity = settings.identity_hash(prepared["sha256"])
    model = build_model(settings.model, spec_of(prepared), settings.model_config, device_)
    use_channels_last(model)
    stream = BatchStream(prepared, settings.batch_size, settings.seed, device_)
    rows: list[dict[str, float]] = []
    images_seen, train_wall = 0, 0.0

    resumed = newest_valid_checkpoint(ckpt_dir, identity)
    if resumed is not None:
        model.load_state_dict(resumed["model"])
        stream.load_state_dict(resumed["stream"])
        set_rng_state(resumed["rng"])
        rows, images_seen, train_wall = resumed["rows"], resumed["images_seen"], resumed["train_wall"]
        print(f"[train {label}] resumed from step {model.step}", flush=True)

    status, diverged_at = "completed", None
    started = time.perf_counter() - train_wall
    try:
        while model.step < settings.steps:
            n_batches = model.batches_per_step()
            batch = stream.next(n_batches)
            losses = model.train_step(batch)
            images_seen += n_batches * settings.batch_size
            now = time.perf_counter() - started
            rows.append({"step": model.step, "wall_s": round(now, 4), **losses})
            if not all(math.isfinite(v) for v in losses.values()):
                raise Diverged(model.step, losses)
            if model.step % settings.log_every == 0 or model.step == settings.steps:
                _print_progress(label, model.step, settings.steps, losses, images_seen, now)
            if model.step % settings.checkpoint_every == 0 and model.step < settings.steps:
                save_atomic({"identity": identity, "model": model.state_dict(),
                             "stream": stream.state_dict(), "rng": rng_state(), "rows": rows,
                             "images_seen": images_seen, "train_wall": now},
                            checkpoint_path(ckpt_dir, model.step))
                prune_checkpoints(ckpt_dir, settings.keep_checkpoints)
    except Diverged as event:
        status, diverged_at = "diverged", event.step
        print(f"[train {label}] DIVERGED: {event}", flush=True)

    wall = time.perf_counter() - started
    record = {
        "status": status, "model": settings.model, "dataset": prepared["dataset"],
        "seed": settings.seed, "suite": settings.suite, "steps_requested": settings.steps,
        "steps_done": model.step, "diverged_at": diverged_at, "wall_time_s": round(wall, 3),
        "images_seen": images_seen,
        "images_per_s": round(images_seen / wall, 2) if wall > 0 else None,
        "batch_size": settings.batch_size, "device": str(device_), "threads": settings.threads,
        "config": model.config, "config_hash": identity, "checkpoint_rule": model.checkpoint_rule,
        "data_sha256": prepared["sha256"], "provenance": provenance(device_),
    }
    write_outputs(out_dir, model, rows, record)
    print(f"[train {label}] {status} at step {model.step} in {wall:.1f}s "
          f"({record['images_per_s']} img/s)", flush=True)
    return record


def use_channels_last(model: GANVariant) -> None:
    """Keep every network's 4-d weights in NHWC (channels-last) memory format.

    Why: oneDNN's CPU convolutions run faster on it (measured on 1 thread, default-suite widths:
    DCGAN -13%, WGAN -17%, WGAN-GP -10%, CGAN -11% per step). Same arithmetic, different summation
    order than NCHW, so it is always on: training and sampling both use it, and runs stay
    bit-identical. Fully connected networks are unaffected.
    """
    for net in model.networks().values():
        net.to(memory_format=torch.channels_last)


def _print_progress(label: str, step: int, total: int, losses: dict[str, float],
                    images_seen: int, elapsed: float) -> None:
    rate = images_seen / elapsed if elapsed > 0 else float("nan")
    eta = elapsed / step * (total - step)
    shown = " ".join(f"{k}={v:.4g}" for k, v in losses.items())
    print(f"[train {label}] step {step}/{total} {shown} {rate:.0f} img/s eta {eta:.0f}s", flush=True)


def write_outputs(out_dir: Path, model: GANVariant, rows: list[dict[str, float]],
                  record: dict[str, Any]) -> None:
    """final.pt, losses.csv, status.json; status.json last, so its presence means all are whole."""
    save_atomic({"model": record["model"], "spec": asdict(model.spec), "config": model.config,
                 "step": model.step, "status": record["status"],
                 "networks": model.state_dict()["networks"], "extra": model.extra_state()},
                out_dir / "final.pt")
    columns = ["step", "wall_s"] + sorted({k for row in rows for k in row} - {"step", "wall_s"})
    tmp = out_dir / "losses.csv.part"
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, out_dir / "losses.csv")
    write_text_atomic(json.dumps(record, indent=2, default=str) + "\n", out_dir / "status.json")


def load_trained(run_dir: Path | str, device: str = "cpu") -> GANVariant:
    """The model of a finished run, ready to sample (networks only; optimizers stay fresh)."""
    final = torch.load(Path(run_dir) / "final.pt", map_location=device, weights_only=False)
    from gans.spec import DataSpec

    model = build_model(final["model"], DataSpec(**final["spec"]), final["config"], device)
    for name, net in model.networks().items():
        net.load_state_dict(final["networks"][name])
    use_channels_last(model)
    model.load_extra_state(final["extra"])
    return model
