"""The one training loop every variant runs in.

It owns what is common to all GANs: seeding (Python, NumPy, torch, data order), progress (the
step budget, generator updates done, images seen), the EMA generator's updates, where networks
live in memory, periodic checkpoints with model, optimizer, data-order and RNG states (written
outside the workflow's declared outputs), resume from the newest valid checkpoint, the per-step
loss log, images per second, and divergence detection. A variant only sees minibatches and the
progress record.

A job may run on several processes (gans/distributed.py): each trains on its share of every
global minibatch, gradients are averaged before each optimizer step, and process 0 prints,
checkpoints and writes the outputs. With TensorBoard on, process 0 also writes event files for
watching the run (gans/tensorboard_log.py).
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
from typing import TYPE_CHECKING, Any, Callable, Optional

import torch
from torch import nn

from gans.checkpoint import newest_valid_checkpoint, save_checkpoint
from gans.data import BatchStream, load_prepared, spec_of
from gans.distributed import SINGLE_PROCESS, Ranks
from gans.io import load_torch, save_torch_atomic, verified, with_digest, write_atomic, write_json_atomic
from gans.models import MODELS, GANVariant, build_model
from gans.provenance import provenance
from gans.seeding import rng_state, seed_everything, set_rng_state
from gans.spec import DataSpec, Progress
from gans.tasks import TASKS

if TYPE_CHECKING:
    from gans.tensorboard_log import TensorBoardLog


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
    domain_task: Optional[str] = None  # two-domain models: which pair of domains (gans.data.DOMAIN_TASKS)
    suite: str = ""
    device: str = "cpu"             # "cpu", "cuda", "cuda:N"
    threads: int = 1
    deterministic: bool = False     # torch.use_deterministic_algorithms on GPU
    log_every: int = 50
    keep_checkpoints: int = 2
    tensorboard_every: int = 0      # a TensorBoard sample grid every N steps (0: no TensorBoard log)


def run_identity(settings: TrainSettings, model: GANVariant, data_sha256: str,
                 world_size: int = 1) -> str:
    """Hash of what determines the trajectory: the resolved config (after defaults), seed, batch
    size, data content, domain task, and the number of processes when there are several (the
    same global batch split otherwise is another run: per-process batch statistics, summation
    order). Not where files go, not the log cadence, and not the step budget, so a longer run
    resumes a shorter one's checkpoints, unless the model's schedule reads the budget
    (`uses_budget`): then the budget is part of the identity too."""
    identity = {"model": settings.model, "seed": settings.seed, "batch_size": settings.batch_size,
                "config": model.config, "deterministic": settings.deterministic,
                "domain_task": settings.domain_task, "data_sha256": data_sha256}
    if model.uses_budget:
        identity["steps"] = settings.steps
    if world_size > 1:  # one process: the identity it always had
        identity["world_size"] = world_size
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


def validate_settings(settings: TrainSettings, world_size: int = 1) -> None:
    if settings.model not in MODELS:
        raise ValueError(f"model: unknown model {settings.model!r} (known: {', '.join(MODELS.names())})")
    for name in ("steps", "batch_size", "checkpoint_every", "threads", "log_every"):
        if getattr(settings, name) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(settings, name)}")
    if settings.tensorboard_every < 0:
        raise ValueError(f"tensorboard_every must be >= 0 (0: off), got {settings.tensorboard_every}")
    if settings.batch_size % world_size:
        raise ValueError(f"batch_size {settings.batch_size} is the global minibatch: it must split "
                         f"into {world_size} equal shares, one per process")
    two_domain = TASKS.get(MODELS.get(settings.model).task).two_domain
    if two_domain and not settings.domain_task:
        raise ValueError(f"model {settings.model!r} trains on two domains: name a domain task "
                         f"(suite: domain_tasks.{settings.model}; command line: --domain-task)")
    if settings.domain_task and not two_domain:
        raise ValueError(f"model {settings.model!r} trains on one domain; domain task "
                         f"{settings.domain_task!r} does not apply")
    if not Path(settings.data).is_file():
        raise FileNotFoundError(f"prepared data {settings.data} does not exist (run `python -m gans prepare`)")


def channels_last(network: nn.Module) -> nn.Module:
    """The loop's placement of every network: NHWC (channels-last) memory for 4-d weights.

    Why: oneDNN's CPU convolutions run faster on it (measured on 1 thread, default-suite widths:
    DCGAN -13%, WGAN -17%, WGAN-GP -10%, CGAN -11% per step). Same arithmetic, different summation
    order than NCHW, so it is always on: training and sampling both use it, and runs stay
    bit-identical. Fully connected networks are unaffected. Several processes need no wrapper
    here: the model's `Ranks` average the gradients at every optimizer step (gans/distributed.py
    says why not DistributedDataParallel).
    """
    return network.to(memory_format=torch.channels_last)


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


def train(settings: TrainSettings, device: Optional[str] = None,
          ranks: Ranks = SINGLE_PROCESS) -> dict[str, Any]:
    """Run (or resume) one training job; writes final.pt, losses.csv and status.json.

    The loop owns progress: it counts generator updates and images seen, hands each step a
    `Progress`, updates the EMA generator after each step, and checkpoints everything. Returns
    the status record. A non-finite loss ends the run with status "diverged" (the files are
    still written, so the workflow goes on and the report can show it). `ranks`: this process's
    place in a job on several processes (gans.distributed.process_group); batch sizes and
    images seen are the job's, losses the mean over its processes, and only process 0 writes.
    """
    validate_settings(settings, ranks.world_size)
    device_ = torch.device(device or settings.device)
    _configure_torch(settings, device_)
    out_dir, ckpt_dir = Path(settings.out_dir), Path(settings.checkpoint_dir)
    label = f"{settings.model}/{Path(settings.data).parent.name}/seed{settings.seed}"
    say = _printer(ranks)

    seed_everything(settings.seed)
    prepared = load_prepared(settings.data)
    model = build_model(settings.model, spec_of(prepared), settings.model_config, device_)
    model.place(channels_last, ranks)
    identity = run_identity(settings, model, prepared["sha256"], ranks.world_size)
    stream = BatchStream(prepared, settings.batch_size, settings.seed, device_,
                         domain_task=settings.domain_task, ranks=ranks)
    rows: list[dict[str, float]] = []
    step, images_seen, train_wall = 0, 0, 0.0

    resumed = newest_valid_checkpoint(ckpt_dir, identity)
    if resumed is not None:
        model.load_state_dict(resumed["model"])
        stream.load_state_dict(resumed["stream"])
        set_rng_state(resumed["rng"])
        rows, step = resumed["rows"], resumed["step"]
        images_seen, train_wall = resumed["images_seen"], resumed["train_wall"]
        say(f"[train {label}] resumed from step {step}")
    ranks.check_same(step, "the step to resume from")
    ranks.broadcast_(tensor for network in model.networks().values()
                     for tensor in (*network.parameters(), *network.buffers()))
    tensorboard = _tensorboard(settings, ranks, step)

    status, diverged_at = "completed", None
    started = time.perf_counter() - train_wall
    try:
        while step < settings.steps:
            progress = Progress(step, images_seen, settings.steps, settings.batch_size)
            n_batches, batch_size = model.batches_per_step(progress), model.batch_size(progress)
            losses = ranks.mean(model.train_step(stream.next(n_batches, batch_size), progress))
            step, images_seen = step + 1, images_seen + n_batches * batch_size
            model.update_ema(Progress(step, images_seen, settings.steps, settings.batch_size))
            now = time.perf_counter() - started
            rows.append({"step": step, "wall_s": round(now, 4), **losses})
            if not all(math.isfinite(v) for v in losses.values()):
                raise Diverged(step, losses)
            if tensorboard is not None:
                tensorboard.log(step, losses, images_seen / now, model, last=step == settings.steps)
            if ranks.main and (step % settings.log_every == 0 or step == settings.steps):
                _print_progress(label, step, settings.steps, losses, images_seen, now)
            if ranks.main and step % settings.checkpoint_every == 0 and step < settings.steps:
                save_checkpoint(ckpt_dir, step, {
                    "identity": identity, "step": step, "model": model.state_dict(),
                    "stream": stream.state_dict(), "rng": rng_state(), "rows": rows,
                    "images_seen": images_seen, "train_wall": now}, settings.keep_checkpoints)
    except Diverged as event:
        status, diverged_at = "diverged", event.step
        say(f"[train {label}] DIVERGED: {event}")
    finally:
        if tensorboard is not None:
            tensorboard.close()

    wall = time.perf_counter() - started
    record = {
        "status": status, "model": settings.model, "dataset": prepared["dataset"],
        "task": model.task, "domain_task": settings.domain_task,
        "seed": settings.seed, "suite": settings.suite, "steps_requested": settings.steps,
        "steps_done": step, "diverged_at": diverged_at, "images_seen": images_seen,
        "batch_size": settings.batch_size, "device": str(device_), "threads": settings.threads,
        "world_size": ranks.world_size,
        "config": model.config, "config_hash": identity, "checkpoint_rule": model.checkpoint_rule,
        "data_sha256": prepared["sha256"], "provenance": provenance(device_),
        # the only fields that differ between two runs of the same settings on one machine
        "timing": {"wall_time_s": round(wall, 3),
                   "images_per_s": round(images_seen / wall, 2) if wall > 0 else None},
    }
    if ranks.main:
        write_outputs(out_dir, model, step, rows, record)
    say(f"[train {label}] {status} at step {step} in {wall:.1f}s "
        f"({record['timing']['images_per_s']} img/s)")
    return record


def _printer(ranks: Ranks) -> Callable[[str], None]:
    """print for process 0; the other processes of a job keep quiet."""
    return (lambda line: print(line, flush=True)) if ranks.main else (lambda line: None)


def _tensorboard(settings: TrainSettings, ranks: Ranks, resumed_step: int) -> Optional["TensorBoardLog"]:
    """Process 0's TensorBoard log when the settings ask for one."""
    if not (ranks.main and settings.tensorboard_every):
        return None
    from gans.tensorboard_log import TensorBoardLog  # imports tensorboard (seconds): only when asked

    return TensorBoardLog(settings.out_dir, settings.tensorboard_every, settings.suite,
                          settings.seed, resumed_step)


def _print_progress(label: str, step: int, total: int, losses: dict[str, float],
                    images_seen: int, elapsed: float) -> None:
    rate = images_seen / elapsed if elapsed > 0 else float("nan")
    eta = elapsed / step * (total - step)
    shown = " ".join(f"{k}={v:.4g}" for k, v in losses.items())
    print(f"[train {label}] step {step}/{total} {shown} {rate:.0f} img/s eta {eta:.0f}s", flush=True)


def write_outputs(out_dir: Path, model: GANVariant, step: int, rows: list[dict[str, float]],
                  record: dict[str, Any]) -> None:
    """final.pt, losses.csv, status.json; status.json last, so its presence means all are whole."""
    save_torch_atomic(out_dir / "final.pt", with_digest({
        "model": record["model"], "spec": asdict(model.spec), "config": model.config,
        "domain_task": record["domain_task"], "step": step, "status": record["status"],
        "networks": model.state_dict()["networks"], "extra": model.extra_state()}))
    columns = ["step", "wall_s"] + sorted({k for row in rows for k in row} - {"step", "wall_s"})

    def write_csv(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)

    write_atomic(out_dir / "losses.csv", write_csv)
    write_json_atomic(out_dir / "status.json", record)


def load_trained(run_dir: Path | str, device: str = "cpu") -> GANVariant:
    """The model of a finished run, ready to sample (networks only; optimizers stay fresh)."""
    path = Path(run_dir) / "final.pt"
    final = verified(load_torch(path, map_location=device), path)
    model = build_model(final["model"], DataSpec(**final["spec"]), final["config"], device)
    model.place(channels_last)
    model.load_networks(final)
    return model
