"""Shared fixtures: small synthetic prepared splits (fast) and the real Fashion-MNIST (when set up)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gans.data import content_sha256, prepare_split

REPO = Path(__file__).resolve().parent.parent


def make_prepared(path: Path, n: int = 256, resolution: int = 16, channels: int = 1,
                  num_classes: int = 4, seed: int = 0, dataset: str = "synthetic") -> Path:
    """A small prepared split of class-dependent blobs, in the prepare_split file format."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(num_classes, (n,), generator=g)
    base = torch.linspace(0, 255, num_classes)[labels].view(n, 1, 1, 1)
    noise = torch.randint(0, 40, (n, channels, resolution, resolution), generator=g)
    data = (base * 0.8 + noise).clamp(0, 255).to(torch.uint8)
    record = {"data": data, "labels": labels, "num_classes": num_classes, "dataset": dataset,
              "split": "train", "resolution": resolution, "kind": "image",
              "sha256": content_sha256(data, labels)}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(record, path)
    return path


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    return make_prepared(tmp_path / "data" / "synthetic" / "train.pt")


@pytest.fixture(scope="session")
def fashion_mnist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Prepared Fashion-MNIST train/test: the workflow's copy when `make data` made it, else
    prepared here from the local sources (never downloads)."""
    existing = REPO / "results" / "data" / "fashion-mnist"
    if (existing / "train.pt").is_file() and (existing / "test.pt").is_file():
        return existing
    out = tmp_path_factory.mktemp("fashion-mnist")
    for split in ("train", "test"):
        prepare_split("fashion-mnist", split, out / f"{split}.pt", REPO / "data" / "raw",
                      options={"allow_download": False})
    return out
