"""The prepared-file format: one split of one dataset as a single tensor file.

`prepare_split` reads a source (sources.py, toy.py), refuses data that is not the real set,
brings images to the configured resolution and writes one record atomically: uint8 data, int64
labels, what it is (dataset, split, kind, resolution, classes) and the sha256 of its content.
Training and evaluation only ever read this file, so what a run trained on is pinned by one hash
and no image is decoded in the training loop.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Optional

import torch
import torch.nn.functional as F

from gans.data.sources import DATASETS, SPLITS, DataCheckError, DatasetSource
from gans.data.toy import TOY_MIXTURES
from gans.io import load_torch, save_torch_atomic
from gans.spec import DataSpec


RESIZE_CHUNK = 1024  # images resized at a time: CelebA's train split is 38 GB as one float tensor


def to_resolution(images: torch.Tensor, resolution: int, chunk: int = RESIZE_CHUNK) -> torch.Tensor:
    """Pad smaller images with black borders (28 -> 32 keeps every pixel); resize larger ones
    with antialiased bilinear filtering, `chunk` images at a time (each image is resized on its
    own, so the chunk size does not change a pixel). Square images only."""
    size = images.shape[-1]
    if size == resolution:
        return images
    if size < resolution:
        total = resolution - size
        before = total // 2
        return F.pad(images, (before, total - before, before, total - before))
    resized = torch.empty((*images.shape[:-2], resolution, resolution), dtype=torch.uint8)
    for start in range(0, len(images), chunk):
        block = F.interpolate(images[start:start + chunk].float(), size=(resolution, resolution),
                              mode="bilinear", antialias=True, align_corners=False)
        resized[start:start + chunk] = block.round().clamp(0, 255).to(torch.uint8)
    return resized


def content_sha256(data: torch.Tensor, labels: torch.Tensor) -> str:
    """Hash of the bytes of data then labels: the identity of a prepared split."""
    digest = hashlib.sha256()
    digest.update(data.contiguous().numpy().tobytes())
    digest.update(labels.contiguous().numpy().tobytes())
    return digest.hexdigest()


def check_real(source: DatasetSource, split: str, images: torch.Tensor) -> None:
    """Refuse data that is not the real set: wrong number of images or wrong train mean pixel."""
    expected = source.expected_sizes.get(split)
    if expected is not None and len(images) != expected:
        raise DataCheckError(f"{source.name} {split} has {len(images)} images, expected {expected}")
    if split == "train" and source.expected_train_mean is not None:
        mean = images.double().mean().item() / 255.0
        if abs(mean - source.expected_train_mean) > 5e-4:
            raise DataCheckError(f"{source.name} train mean pixel is {mean:.4f}, expected "
                                 f"{source.expected_train_mean:.4f} +- 0.0005: not the real set")


def prepare_split(dataset: str, split: str, out_path: Path, raw_root: Path,
                  resolution: Optional[int] = None, options: Optional[dict[str, Any]] = None,
                  check: bool = True) -> dict[str, Any]:
    """Write one split as a single tensor file, atomically; returns what was written."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    source = DATASETS.get(dataset)
    options = dict(options or {})
    raw = source.load(split, Path(raw_root), options)
    if source.kind == "points":
        mixture = TOY_MIXTURES[dataset]
        record: dict[str, Any] = {"data": raw.images, "labels": raw.labels, "resolution": 0,
                                  "modes": mixture.modes.clone(), "sigma": mixture.sigma}
    else:
        if check:
            check_real(source, split, raw.images)
        resolution = resolution or source.default_resolution
        data = to_resolution(raw.images, resolution)
        num_classes = source.num_classes or int(raw.labels.max().item()) + 1
        record = {"data": data, "labels": raw.labels, "resolution": resolution,
                  "num_classes": num_classes}
    record.setdefault("num_classes", source.num_classes)
    record.update({"dataset": dataset, "split": split, "kind": source.kind,
                   "sha256": content_sha256(record["data"], record["labels"])})
    save_torch_atomic(out_path, record)
    return record


def load_prepared(path: Path | str) -> dict[str, Any]:
    """Read a file written by prepare_split."""
    record = load_torch(path)
    if content_sha256(record["data"], record["labels"]) != record.get("sha256"):
        raise DataCheckError(f"{path}: its images and labels do not match the sha256 written with "
                             f"them: the file is corrupt. Delete it and prepare it again "
                             f"(python -m gans prepare, or rerun the workflow).")
    return record


def spec_of(prepared: dict[str, Any], task: str = "unconditional") -> DataSpec:
    """The DataSpec a model is built from, read off a prepared split."""
    data = prepared["data"]
    return DataSpec(dataset=prepared["dataset"], channels=int(data.shape[1]),
                    resolution=int(prepared["resolution"]), num_classes=int(prepared["num_classes"]),
                    task=task, kind=prepared["kind"])
