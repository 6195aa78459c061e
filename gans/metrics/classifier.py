"""The domain classifier: a small CNN per dataset, trained with a fixed seed, used as a feature
extractor (the "Fréchet LeNet Distance" idea: FID-style metrics on a classifier of the domain).

Its penultimate layer (after ReLU) gives the features for FID, KID, precision/recall and
density/coverage; its logits give the Inception Score and the class metrics. Training is cheap
(3 epochs, batch 64, Adam; about 91% test accuracy on Fashion-MNIST) and bit-reproducible on CPU
for a seed and thread count.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from gans.io import load_torch
from gans.quantize import uint8_to_float
from gans.seeding import seed_everything

ARCHITECTURE_NAME = "domain-cnn-v1"


@dataclass(frozen=True)
class ClassifierArchitecture:
    """Shape of the CNN: strided conv-BN-ReLU blocks (each halves the resolution; the first has a
    5x5 kernel, the rest 3x3), a hidden layer (the features), logits."""

    channels: int
    resolution: int
    num_classes: int
    widths: tuple[int, ...] = (16, 32, 64)
    feature_dim: int = 128
    name: str = ARCHITECTURE_NAME

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "ClassifierArchitecture":
        return cls(**{**values, "widths": tuple(values["widths"])})


class DomainClassifier(nn.Module):
    """Takes images in [-1, 1]; `features_and_logits` returns (penultimate features, logits)."""

    def __init__(self, arch: ClassifierArchitecture) -> None:
        super().__init__()
        self.arch = arch
        blocks: list[nn.Module] = []
        in_channels = arch.channels
        for index, width in enumerate(arch.widths):
            kernel = 5 if index == 0 else 3
            blocks += [nn.Conv2d(in_channels, width, kernel, stride=2, padding=kernel // 2, bias=False),
                       nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            in_channels = width
        blocks.append(nn.AdaptiveAvgPool2d(4))  # 32 x 32 inputs are 4 x 4 here already
        self.conv = nn.Sequential(*blocks)
        self.hidden = nn.Linear(in_channels * 16, arch.feature_dim)
        self.head = nn.Linear(arch.feature_dim, arch.num_classes)

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = F.relu(self.hidden(self.conv(x).flatten(1)))
        return features, self.head(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features_and_logits(x)[1]


@dataclass
class TrainedClassifier:
    """A trained classifier and what its weights file records about it."""

    model: DomainClassifier
    dataset: str
    seed: int
    epochs: int
    test_accuracy: float
    train_seconds: float
    epoch_losses: list[float] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """What goes into the weights file (nothing time-dependent: the file is bit-reproducible)."""
        return {"state_dict": self.model.state_dict(), "architecture": asdict(self.model.arch),
                "dataset": self.dataset, "seed": self.seed, "epochs": self.epochs,
                "test_accuracy": self.test_accuracy}


def _as_input(images: torch.Tensor) -> torch.Tensor:
    return uint8_to_float(images) if images.dtype == torch.uint8 else images.float()


@torch.no_grad()
def accuracy(model: DomainClassifier, images: torch.Tensor, labels: torch.Tensor,
             batch_size: int = 1000) -> float:
    """Top-1 accuracy on uint8 (or [-1, 1] float) images."""
    model.eval()
    correct = 0
    for start in range(0, len(images), batch_size):
        logits = model(_as_input(images[start:start + batch_size]))
        correct += int((logits.argmax(1) == labels[start:start + batch_size]).sum())
    return correct / len(images)


def train_classifier(train: dict[str, Any], test: dict[str, Any], seed: int = 0, epochs: int = 3,
                     batch_size: int = 64, lr: float = 3e-3,
                     log: Optional[Callable[[str], None]] = None) -> TrainedClassifier:
    """Train on a prepared train split, measure on the prepared test split.

    Adam with the learning rate decayed linearly to 0 over the run; the data order comes from a
    generator seeded by `seed` and the weights from torch's global RNG seeded by `seed`.
    """
    if train["kind"] != "image":
        raise ValueError(f"the domain classifier needs image data, {train['dataset']} is {train['kind']}")
    data, labels = train["data"], train["labels"]
    arch = ClassifierArchitecture(channels=data.shape[1], resolution=data.shape[-1],
                                  num_classes=int(train["num_classes"]))
    seed_everything(seed)
    model = DomainClassifier(arch)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = -(-len(data) // batch_size)
    total_steps = epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 - step / total_steps)
    order_generator = torch.Generator().manual_seed(seed)
    started = time.perf_counter()
    epoch_losses = []
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(data), generator=order_generator)
        loss_sum = 0.0
        for start in range(0, len(data), batch_size):
            index = order[start:start + batch_size]
            loss = F.cross_entropy(model(_as_input(data[index])), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            loss_sum += loss.item() * len(index)
        epoch_losses.append(loss_sum / len(data))
        if log is not None:
            log(f"epoch {epoch + 1}/{epochs}: train loss {epoch_losses[-1]:.4f} "
                f"({time.perf_counter() - started:.1f} s)")
    train_seconds = time.perf_counter() - started
    test_accuracy = accuracy(model, test["data"], test["labels"])
    model.eval()
    return TrainedClassifier(model, train["dataset"], seed, epochs, test_accuracy, train_seconds,
                             epoch_losses)


def load_classifier(path: Path | str) -> tuple[DomainClassifier, dict[str, Any]]:
    """The classifier in eval mode and its weights-file record (architecture, accuracy, ...)."""
    record = load_torch(path)
    if not isinstance(record, dict) or "architecture" not in record:
        raise ValueError(f"{path} is not a domain classifier written by `train-classifier`")
    model = DomainClassifier(ClassifierArchitecture.from_dict(record["architecture"]))
    model.load_state_dict(record["state_dict"])
    model.eval()
    return model, record
