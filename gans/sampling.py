"""Evaluation samples: a fixed latent bank per (suite, seed), the same for every model.

Every model of a suite draws its evaluation latents from a torch.Generator seeded by
(suite, seed) alone, so models with the same prior see the same latents, and conditional models
get the same label bank (0, 1, ..., K-1, 0, 1, ...). Samples are quantized once, by the one rule.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Optional

import torch
from PIL import Image

from gans.grid import tile_images
from gans.quantize import QUANTIZATION_RULE, quantize_to_uint8
from gans.seeding import derive_seed
from gans.train import load_trained, save_atomic

SAMPLE_CHUNK = 500


def latent_bank_seed(suite: str, seed: int) -> int:
    return derive_seed("latent-bank", suite, seed)


def label_bank(n: int, num_classes: int) -> torch.Tensor:
    return torch.arange(n) % num_classes


def generate_samples(run_dir: Path | str, n: int, suite: str, seed: int,
                     device: str = "cpu") -> dict[str, Any]:
    """n quantized samples of a finished run, as the samples-file record (see README: formats)."""
    run_dir = Path(run_dir)
    status = json.loads((run_dir / "status.json").read_text())
    model = load_trained(run_dir, device)
    conditional = model.spec.task == "conditional"
    labels = label_bank(n, model.spec.num_classes) if conditional else None
    record: dict[str, Any] = {
        "model": status["model"], "dataset": status["dataset"], "seed": seed, "suite": suite,
        "step": status["steps_done"], "status": status["status"], "kind": model.spec.kind,
        "checkpoint_rule": model.checkpoint_rule, "conditional": conditional, "labels": labels,
        "latent_bank_seed": latent_bank_seed(suite, seed), "quantization": QUANTIZATION_RULE,
    }
    if status["status"] != "completed":
        record["data"] = torch.empty((0, *model.spec.sample_shape),
                                     dtype=torch.uint8 if model.spec.kind == "image" else torch.float32)
        return record
    generator = torch.Generator().manual_seed(record["latent_bank_seed"])
    chunks = []
    for start in range(0, n, SAMPLE_CHUNK):
        size = min(SAMPLE_CHUNK, n - start)
        chunk_labels = None if labels is None else labels[start:start + size]
        chunks.append(model.sample(size, generator, chunk_labels))
    samples = torch.cat(chunks)
    if not torch.isfinite(samples).all():
        record["status"] = "diverged"
        samples = samples[:0]
    record["data"] = quantize_to_uint8(samples) if model.spec.kind == "image" else samples
    return record


def real_subset(prepared: dict[str, Any], n: int, seed: int, suite: str) -> dict[str, Any]:
    """A seeded subset of real images in the samples-file format: the real-vs-real floor."""
    if n > len(prepared["data"]):
        raise ValueError(f"asked for {n} real images, the split has {len(prepared['data'])}")
    pick = torch.randperm(len(prepared["data"]), generator=torch.Generator().manual_seed(seed))[:n]
    return {"model": "real", "dataset": prepared["dataset"], "seed": seed, "suite": suite,
            "step": 0, "status": "completed", "kind": prepared["kind"],
            "checkpoint_rule": f"real {prepared['split']} subset", "conditional": False,
            "labels": prepared["labels"][pick].clone(), "data": prepared["data"][pick].clone(),
            "quantization": "native uint8", "latent_bank_seed": None}


def write_grid(record: dict[str, Any], path: Path | str, n: int = 64) -> None:
    """An 8x8 PNG of the first samples (for conditional models: one class per column)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = record["data"][:n]
    if record["kind"] != "image" or len(data) == 0:
        _write_points_or_blank(record, path)
        return
    nrow = int(math.sqrt(n))
    if record.get("conditional") and record.get("labels") is not None:
        nrow = int(record["labels"].max().item()) + 1
        data = record["data"][: nrow * max(1, n // nrow)]
    tmp = path.with_name(path.stem + ".part.png")
    Image.fromarray(tile_images(data, nrow).permute(1, 2, 0).squeeze(2).numpy()).save(tmp, format="PNG")
    tmp.replace(path)


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
    tmp = path.with_name(path.stem + ".part.png")
    fig.savefig(tmp, format="png", bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)


def save_samples(record: dict[str, Any], path: Path | str, grid: Optional[Path | str] = None) -> None:
    save_atomic(record, Path(path))
    if grid is not None:
        write_grid(record, grid)
