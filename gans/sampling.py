"""Evaluation samples: a fixed latent bank per (suite, seed), the same for every model.

Every model of a suite draws its evaluation latents from a torch.Generator seeded by
(suite, seed) alone, so models with the same prior see the same latents, and conditional models
get the same label bank (0, 1, ..., K-1, 0, 1, ...). What a model is given and what it returns
is its task's business (gans/tasks.py): latents, labels or held-out source images in; one image
set, a coupled pair or translations out. The task's primary output is what the image metrics
score (`data`); the others are kept under `outputs`. Samples are quantized once, by the one rule.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Optional

import torch
from PIL import Image

from gans.grid import tile_images
from gans.io import save_torch_atomic, write_atomic
from gans.quantize import QUANTIZATION_RULE, quantize_to_uint8, uint8_to_float
from gans.seeding import derive_seed
from gans.tasks import TASKS
from gans.train import load_trained

SAMPLE_CHUNK = 500


def latent_bank_seed(suite: str, seed: int) -> int:
    return derive_seed("latent-bank", suite, seed)


def source_images(domain_task: Optional[str],
                  source_data: Optional[Path | str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Held-out domain-A and domain-B images (in [-1, 1]) of a domain task, from a prepared test
    split."""
    from gans.data import DOMAIN_TASKS, load_prepared

    if not domain_task or source_data is None:
        raise ValueError("translation samples need the run's domain task and the prepared test "
                         "split (--source-data)")
    domains, prepared = DOMAIN_TASKS.get(domain_task), load_prepared(source_data)
    source, _ = domains.test_pairs(prepared)
    return uint8_to_float(source), uint8_to_float(domains.real_b(prepared))


def generate_samples(run_dir: Path | str, n: int, suite: str, seed: int, device: str = "cpu",
                     truncation: Optional[float] = None,
                     source_data: Optional[Path | str] = None) -> dict[str, Any]:
    """Quantized samples of a finished run, as the samples-file record (see README: formats).

    `source_data` is the prepared test split (a path) that translation tasks take their held-out
    source images (of both domains) from; other tasks ignore it. `truncation` (None: off) goes to
    the model's sampling.
    """
    run_dir = Path(run_dir)
    status = json.loads((run_dir / "status.json").read_text())
    model = load_trained(run_dir, device)
    task = TASKS.get(model.task)
    source, source_b = (source_images(status.get("domain_task"), source_data) if task.uses_source
                        else (None, None))
    plan = task.plan(n, model.spec, source, source_b)
    n = task.size(n, plan)
    image = model.spec.kind == "image"
    record: dict[str, Any] = {
        "model": status["model"], "dataset": status["dataset"], "seed": seed, "suite": suite,
        "step": status["steps_done"], "status": status["status"], "kind": model.spec.kind,
        "task": task.name, "primary_output": task.primary, "domain_task": status.get("domain_task"),
        "checkpoint_rule": model.checkpoint_rule, "conditional": task.conditional,
        "labels": plan.labels, "truncation": truncation,
        "latent_bank_seed": latent_bank_seed(suite, seed) if task.uses_latents else None,
        "quantization": QUANTIZATION_RULE if image else "none (float points)", "outputs": {},
    }
    empty = torch.empty((0, *model.spec.sample_shape), dtype=torch.uint8 if image else torch.float32)
    record["data"] = empty
    if status["status"] != "completed":
        return record
    generator = torch.Generator().manual_seed(derive_seed("latent-bank", suite, seed))
    parts: dict[str, list[torch.Tensor]] = {name: [] for name in task.outputs}
    for start in range(0, n, SAMPLE_CHUNK):
        size = min(SAMPLE_CHUNK, n - start)
        inputs = task.draw(model, plan.part(start, start + size), size, generator, truncation)
        for name, out in model.sample(inputs, truncation).items():
            parts[name].append(out)
    outputs = {name: torch.cat(chunks) for name, chunks in parts.items()}
    if not all(torch.isfinite(out).all() for out in outputs.values()):
        record["status"] = "diverged"
        return record
    outputs = {name: quantize_to_uint8(out) if image else out for name, out in outputs.items()}
    record["data"] = outputs.pop(task.primary)
    record["outputs"] = outputs
    return record


def real_subset(prepared: dict[str, Any], n: int, seed: int, suite: str) -> dict[str, Any]:
    """A seeded subset of real images in the samples-file format: the real-vs-real floor."""
    if n > len(prepared["data"]):
        raise ValueError(f"asked for {n} real images, the split has {len(prepared['data'])}")
    pick = torch.randperm(len(prepared["data"]), generator=torch.Generator().manual_seed(seed))[:n]
    return {"model": "real", "dataset": prepared["dataset"], "seed": seed, "suite": suite,
            "step": 0, "status": "completed", "kind": prepared["kind"],
            "checkpoint_rule": f"real {prepared['split']} subset", "conditional": False,
            "task": "real", "primary_output": "x", "truncation": None, "outputs": {},
            "labels": prepared["labels"][pick].clone(), "data": prepared["data"][pick].clone(),
            "quantization": "native uint8", "latent_bank_seed": None}


def sample_grid(images: torch.Tensor, labels: Optional[torch.Tensor] = None, n: int = 64) -> torch.Tensor:
    """The first n uint8 images as one C x H x W grid, 8x8 for n = 64 (with `labels`, those of
    a conditional model: one class per column)."""
    nrow = int(math.sqrt(n))
    data = images[:n]
    if labels is not None:
        nrow = int(labels.max().item()) + 1
        data = images[: nrow * max(1, n // nrow)]
    return tile_images(data, nrow)


def write_grid(record: dict[str, Any], path: Path | str, n: int = 64) -> None:
    """An 8x8 PNG of the first samples (for conditional models: one class per column)."""
    path = Path(path)
    if record["kind"] != "image" or len(record["data"]) == 0:
        _write_points_or_blank(record, path)
        return
    labels = record.get("labels") if record.get("conditional") else None
    grid = sample_grid(record["data"], labels, n)
    image = Image.fromarray(grid.permute(1, 2, 0).squeeze(2).numpy())
    write_atomic(path, lambda tmp: image.save(tmp, format="PNG"))


def _write_points_or_blank(record: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 3), dpi=100)
    if len(record["data"]) and record["kind"] == "points":
        pts = record["data"][:2000]
        ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.5)
    else:
        ax.text(0.5, 0.5, f"{record['model']}: {record['status']}", ha="center", va="center")
        ax.set_axis_off()
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", bbox_inches="tight"))
    plt.close(fig)


def save_samples(record: dict[str, Any], path: Path | str, grid: Optional[Path | str] = None) -> None:
    save_torch_atomic(path, record)
    if grid is not None:
        write_grid(record, grid)
