"""The domain classifier: a small CNN per dataset, trained with a fixed seed, used as a feature
extractor (the "Fréchet LeNet Distance" idea: FID-style metrics on a classifier of the domain).

Its hidden layer gives the features for FID, KID, precision/recall and density/coverage; its
logits give the Inception Score and the class metrics. Two versions, both loadable:

- "domain-cnn-v1" (the first recipe; old records name it): features after the hidden layer's
  ReLU, 3 epochs. On Fashion-MNIST about 91% test accuracy, and 41 of its 128 feature units are
  0 on every test image (dead ReLUs), so the real features' covariance is singular.
- "domain-cnn-v2" (the default): wider convolutions (32, 64, 128), and the features are the
  hidden layer's batch-normalised pre-activations, taken *before* its non-linearity (see
  `DomainClassifier`), trained longer (8 epochs, one-cycle learning rate, AdamW) on images
  shifted by up to 1 pixel (see `RECIPES`). Every feature unit varies over the test images, and
  test accuracy is about 93% on Fashion-MNIST.

For Fashion-MNIST the v2 classifier is frozen: trained once, its weights ship with the package
(gans/metrics/evaluators/) beside a card that records its tensors' sha256, and every load checks
them (gans.metrics.evaluators). Other datasets, or a suite that asks for it, retrain it; training
is bit-reproducible on CPU for a seed, a thread count and a CPU's kernels.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import torch
import torch.nn.functional as F
from torch import nn

from gans.io import load_torch
from gans.quantize import uint8_to_float
from gans.registry import Registry
from gans.seeding import seed_everything

ARCHITECTURE_V1 = "domain-cnn-v1"
ARCHITECTURE_V2 = "domain-cnn-v2"
ARCHITECTURE_NAME = ARCHITECTURE_V2  # what train-classifier trains by default


@dataclass(frozen=True)
class ClassifierArchitecture:
    """Shape of the CNN: strided conv-BN-ReLU blocks (each halves the resolution; the first has a
    5x5 kernel, the rest 3x3), a hidden layer (the features), logits.

    `name` selects where the features are taken: v1 after the hidden layer's ReLU; v2 from a
    batch norm on the hidden layer, before its LeakyReLU (`DomainClassifier`)."""

    channels: int
    resolution: int
    num_classes: int
    widths: tuple[int, ...] = (16, 32, 64)
    feature_dim: int = 128
    name: str = ARCHITECTURE_V1

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "ClassifierArchitecture":
        return cls(**{**values, "widths": tuple(values["widths"])})

    @classmethod
    def for_data(cls, channels: int, resolution: int, num_classes: int,
                 name: str = ARCHITECTURE_NAME) -> "ClassifierArchitecture":
        """The architecture of a version for data of this shape (v2 is wider than v1)."""
        widths = (32, 64, 128) if name == ARCHITECTURE_V2 else (16, 32, 64)
        return cls(channels, resolution, num_classes, widths=widths, name=name)

    @property
    def feature_layer(self) -> str:
        """Where the features come from, in words (the evaluator card and the docs say it)."""
        if self.name == ARCHITECTURE_V1:
            return f"hidden layer, {self.feature_dim} units after ReLU"
        return f"hidden layer, {self.feature_dim} units after batch norm, before the LeakyReLU"


class DomainClassifier(nn.Module):
    """Takes images in [-1, 1]; `features_and_logits` returns (features, logits).

    v2 takes its features before the hidden layer's non-linearity, and that non-linearity is a
    LeakyReLU: a ReLU unit that is negative on every image outputs 0 everywhere and gets no
    gradient again (v1 had 41 of 128 such units on the Fashion-MNIST test images), which leaves a
    zero-variance direction in the features and a singular covariance in FID. A pre-activation
    is a non-constant linear function of the conv features as long as its weights are not all
    zero, and the LeakyReLU keeps every unit's gradient alive, so every feature dimension is
    trained and varies. The batch norm gives each feature a comparable scale (no unit dominates
    FID's trace term by its units alone) and keeps the features roughly Gaussian.
    """

    def __init__(self, arch: ClassifierArchitecture) -> None:
        super().__init__()
        if arch.name not in (ARCHITECTURE_V1, ARCHITECTURE_V2):
            raise ValueError(f"unknown classifier architecture {arch.name!r} "
                             f"(known: {ARCHITECTURE_V1}, {ARCHITECTURE_V2})")
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
        v2 = arch.name == ARCHITECTURE_V2
        self.hidden = nn.Linear(in_channels * 16, arch.feature_dim, bias=not v2)
        # v2 only: the modules v1 files do not have (their state dicts load unchanged)
        self.hidden_norm: Optional[nn.Module] = nn.BatchNorm1d(arch.feature_dim) if v2 else None
        self.head = nn.Linear(arch.feature_dim, arch.num_classes)

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.hidden(self.conv(x).flatten(1))
        if self.hidden_norm is None:  # v1: the features are the ReLU's output
            features = F.relu(hidden)
            return features, self.head(features)
        features = self.hidden_norm(hidden)  # v2: before the non-linearity
        return features, self.head(F.leaky_relu(features, 0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features_and_logits(x)[1]


@dataclass(frozen=True)
class TrainingRecipe:
    """How a classifier version is trained: one thread, seed 0 by default, Adam.

    schedule "linear": the learning rate decays linearly to 0 over the run; "one-cycle": it rises
    linearly from lr / 10 to lr over the first `warmup` share of the steps, then follows a
    cosine to 0. augment (drawn from the seeded data-order generator): "shift" moves each image
    by up to `shift` pixels in each direction, filled with black (v2: 1 pixel; the prepared 32 px
    Fashion-MNIST images have a 2-pixel black border, so no garment is cut); "flip" mirrors half
    of the training images left-right (only for domains where a mirrored image keeps its class);
    "flip-shift" does both.
    weight_decay > 0 trains with AdamW (decoupled decay), else Adam."""

    architecture: str
    epochs: int
    batch_size: int
    lr: float
    schedule: str = "linear"
    warmup: float = 0.0
    weight_decay: float = 0.0
    augment: str = "none"
    shift: int = 0
    min_accuracy: float = 0.90

    def overridden(self, overrides: Mapping[str, Any]) -> "TrainingRecipe":
        """This recipe with some fields changed (a suite's `evaluation.classifier` block)."""
        for name, value in overrides.items():
            error = recipe_field_error(name, value)
            if error is not None:
                raise ValueError(f"recipe field {name}: {error}")
        return replace(self, **overrides)


AUGMENTATIONS = ("none", "shift", "flip", "flip-shift")


def recipe_field_error(name: str, value: Any) -> Optional[str]:
    """Why `value` cannot be the recipe field `name` (None: it can); architecture is set by the
    recipe's name, not overridden."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    integer = isinstance(value, int) and not isinstance(value, bool)
    checks: dict[str, tuple[bool, str]] = {
        "epochs": (integer and value >= 1, "a positive integer"),
        "batch_size": (integer and value >= 1, "a positive integer"),
        "shift": (integer and value >= 0, "an integer >= 0"),
        "lr": (number and value > 0, "a positive number"),
        "warmup": (number and 0 <= value < 1, "a number in [0, 1)"),
        "weight_decay": (number and value >= 0, "a number >= 0"),
        "min_accuracy": (number and value >= 0, "a number >= 0"),  # above 1: always fails
        "schedule": (value in ("linear", "one-cycle"), "linear or one-cycle"),
        "augment": (value in AUGMENTATIONS, " or ".join(AUGMENTATIONS)),
    }
    if name not in checks:
        return f"not a recipe field (known: {', '.join(checks)})"
    ok, wanted = checks[name]
    return None if ok else f"must be {wanted}, got {value!r}"


RECIPES: Registry[TrainingRecipe] = Registry("classifier recipe")
RECIPES.register("v1")(TrainingRecipe(ARCHITECTURE_V1, epochs=3, batch_size=64, lr=3e-3))
# v2, measured on Fashion-MNIST (one thread, seed 0, 8 epochs, about 155 CPU-s each on a 2-core
# AMD EPYC): 1-pixel shifts 0.9306 test accuracy; 2-pixel shifts 0.9226 (train loss 0.19: too
# hard for 8 epochs); no augmentation 0.9249 (train loss 0.05: overfitting); mirroring 0.9275,
# left out because a mirrored image is not the same class in every domain (digits, the tests'
# bar patterns). Every variant had 0 dead feature units.
RECIPES.register("v2")(TrainingRecipe(ARCHITECTURE_V2, epochs=8, batch_size=128, lr=4e-3,
                                      schedule="one-cycle", warmup=0.15, weight_decay=5e-4,
                                      augment="shift", shift=1))
DEFAULT_RECIPE = "v2"
RECIPE_FIELDS = tuple(f.name for f in fields(TrainingRecipe) if f.name != "architecture")


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
    recipe: Optional[TrainingRecipe] = None

    def record(self) -> dict[str, Any]:
        """What goes into the weights file (nothing time-dependent: the file is bit-reproducible)."""
        record = {"state_dict": self.model.state_dict(), "architecture": asdict(self.model.arch),
                  "dataset": self.dataset, "seed": self.seed, "epochs": self.epochs,
                  "test_accuracy": self.test_accuracy}
        if self.recipe is not None:
            record["recipe"] = asdict(self.recipe)
        return record


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


def _schedule(recipe: TrainingRecipe, total_steps: int) -> Callable[[int], float]:
    """The learning-rate factor at each step (see TrainingRecipe)."""
    if recipe.schedule == "linear":
        return lambda step: 1.0 - step / total_steps
    if recipe.schedule == "one-cycle":
        warmup = max(1, round(recipe.warmup * total_steps))

        def one_cycle(step: int) -> float:
            if step < warmup:
                return 0.1 + 0.9 * step / warmup
            return 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / max(1, total_steps - warmup)))

        return one_cycle
    raise ValueError(f"unknown learning-rate schedule {recipe.schedule!r} (known: linear, one-cycle)")


def shifted(images: torch.Tensor, shift: int, generator: torch.Generator) -> torch.Tensor:
    """Each image moved by its own (dy, dx) in [-shift, shift], the space filled with -1 (black)."""
    if shift <= 0:
        return images
    n, _, height, width = images.shape
    padded = F.pad(images, (shift, shift, shift, shift), value=-1.0)
    offsets = torch.randint(0, 2 * shift + 1, (2, n), generator=generator)
    rows = (torch.arange(height)[None, :] + offsets[0][:, None])[:, None, :, None]
    cols = (torch.arange(width)[None, :] + offsets[1][:, None])[:, None, None, :]
    batch = torch.arange(n)[:, None, None, None]
    channel = torch.arange(images.shape[1])[None, :, None, None]
    return padded[batch, channel, rows, cols]


def flipped(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image mirrored left-right with probability 1/2."""
    mirror = torch.rand(len(images), generator=generator) < 0.5
    return torch.where(mirror[:, None, None, None], images.flip(-1), images)


def train_classifier(train: dict[str, Any], test: dict[str, Any], seed: int = 0,
                     epochs: Optional[int] = None, batch_size: Optional[int] = None,
                     lr: Optional[float] = None, log: Optional[Callable[[str], None]] = None,
                     recipe: TrainingRecipe | str = DEFAULT_RECIPE) -> TrainedClassifier:
    """Train on a prepared train split, measure on the prepared test split.

    The recipe (a name of RECIPES or a TrainingRecipe; epochs, batch_size and lr override it)
    sets the architecture version, the optimiser (Adam; AdamW with weight decay), the schedule
    and the augmentation. The data order and the augmentation come from a generator seeded by
    `seed`, the weights from torch's global RNG seeded by `seed`.
    """
    if train["kind"] != "image":
        raise ValueError(f"the domain classifier needs image data, {train['dataset']} is {train['kind']}")
    recipe = RECIPES.get(recipe) if isinstance(recipe, str) else recipe
    overrides = {k: v for k, v in (("epochs", epochs), ("batch_size", batch_size), ("lr", lr)) if v is not None}
    recipe = recipe.overridden(overrides)
    data, labels = train["data"], train["labels"]
    arch = ClassifierArchitecture.for_data(data.shape[1], data.shape[-1], int(train["num_classes"]),
                                           recipe.architecture)
    seed_everything(seed)
    model = DomainClassifier(arch)
    if recipe.weight_decay > 0:
        optimizer: torch.optim.Optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr,
                                                             weight_decay=recipe.weight_decay)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    steps_per_epoch = -(-len(data) // recipe.batch_size)
    total_steps = recipe.epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(recipe, total_steps))
    if recipe.augment not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {recipe.augment!r} (known: {', '.join(AUGMENTATIONS)})")
    shift = recipe.shift if "shift" in recipe.augment else 0
    flip = "flip" in recipe.augment
    order_generator = torch.Generator().manual_seed(seed)
    started = time.perf_counter()
    epoch_losses = []
    for epoch in range(recipe.epochs):
        model.train()
        order = torch.randperm(len(data), generator=order_generator)
        loss_sum = 0.0
        for start in range(0, len(data), recipe.batch_size):
            index = order[start:start + recipe.batch_size]
            images = shifted(_as_input(data[index]), shift, order_generator)
            if flip:
                images = flipped(images, order_generator)
            loss = F.cross_entropy(model(images), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            loss_sum += loss.item() * len(index)
        epoch_losses.append(loss_sum / len(data))
        if log is not None:
            log(f"epoch {epoch + 1}/{recipe.epochs}: train loss {epoch_losses[-1]:.4f} "
                f"({time.perf_counter() - started:.1f} s)")
    train_seconds = time.perf_counter() - started
    test_accuracy = accuracy(model, test["data"], test["labels"])
    model.eval()
    return TrainedClassifier(model, train["dataset"], seed, recipe.epochs, test_accuracy, train_seconds,
                             epoch_losses, recipe)


@torch.no_grad()
def features_of(model: DomainClassifier, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """N x D features of uint8 (or [-1, 1] float) images."""
    model.eval()
    return torch.cat([model.features_and_logits(_as_input(images[start:start + batch_size]))[0]
                      for start in range(0, len(images), batch_size)])


def dead_units(features: torch.Tensor) -> int:
    """How many feature dimensions are constant (zero variance) over these images."""
    return int((features.max(0).values == features.min(0).values).sum())


@dataclass(frozen=True)
class LoadedClassifier:
    """A classifier from its weights file, checked: its tensors' sha256 and, for a frozen
    evaluator, its card (gans.metrics.evaluators), whose hash it matched."""

    model: DomainClassifier
    record: dict[str, Any]
    tensors_sha256: str
    card: Optional[dict[str, Any]]

    @property
    def version(self) -> str:
        """The frozen evaluator's name, or "retrained" for one trained by the workflow."""
        from gans.metrics.evaluators import RETRAINED

        return self.card["name"] if self.card is not None else RETRAINED

    @property
    def recorded_accuracy(self) -> Optional[float]:
        source = self.card if self.card is not None else self.record
        value = source.get("test_accuracy")
        return None if value is None else float(value)


def load_checked_classifier(path: Path | str) -> LoadedClassifier:
    """The classifier in eval mode, its record and hash; a frozen evaluator whose tensors do not
    hash as its card says raises EvaluatorError."""
    from gans.io import content_digest
    from gans.metrics.evaluators import checked_evaluator

    record = load_torch(path)
    if not isinstance(record, dict) or "architecture" not in record:
        raise ValueError(f"{path} is not a domain classifier written by `train-classifier`")
    sha256 = content_digest(record["state_dict"])  # = gans.metrics.weights.tensors_sha256(path)
    card = checked_evaluator(path, record, sha256)
    model = DomainClassifier(ClassifierArchitecture.from_dict(record["architecture"]))
    model.load_state_dict(record["state_dict"])
    model.eval()
    return LoadedClassifier(model, record, sha256, card)


def load_classifier(path: Path | str) -> tuple[DomainClassifier, dict[str, Any]]:
    """The classifier in eval mode and its weights-file record (architecture, accuracy, ...);
    a frozen evaluator is checked against its card first."""
    loaded = load_checked_classifier(path)
    return loaded.model, loaded.record
