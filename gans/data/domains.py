"""Two-domain tasks: two unpaired image domains derived from one prepared split.

Variants that learn a joint distribution or a translation between domains (CoGAN and its
successors) train on two domains that share content but must never be shown a pair. A DomainTask
derives both from a prepared split (uint8 images + labels):

- training: domain A and domain B come from disjoint rows of the train split, so no image
  appears in both and no (a, T(a)) pair exists in the training data;
- evaluation: held-out domain-A test images and, when B is a known transform of A, the true
  T(a) of each, so a translation can be scored against pairs it never saw; and the real
  domain-B test images, the reference a generated domain B is compared with.

Two kinds exist: a known pixel transform of the image (negative, edges) and a pair of classes of
one dataset (sneaker <-> ankle boot), where no true pair exists. Transforms work on uint8 so they
are exact; the float [-1, 1] view is taken only when batches are drawn.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Optional

import torch
import torch.nn.functional as F

from gans.registry import Registry

HALVES_SEED = 0  # the fixed permutation that cuts a split into the two training halves


def negative(images: torch.Tensor) -> torch.Tensor:
    """255 - x on uint8 (1 - x in [0, 1], -x in [-1, 1])."""
    return 255 - _uint8(images)


def edges(images: torch.Tensor) -> torch.Tensor:
    """The edge map as the CoGAN authors build it: dilate with a 3x3 box of ones, minus the image.

    The dilation is a 3x3 max filter per channel; pixels outside the image are ignored, as in
    OpenCV's dilate. Values 0..255 are exact in float32 and the dilation is never below the
    image, so the uint8 result is exact.
    """
    pixels = _uint8(images).float()
    dilated = F.max_pool2d(pixels, kernel_size=3, stride=1, padding=1)
    return (dilated - pixels).to(torch.uint8)


def _uint8(images: torch.Tensor) -> torch.Tensor:
    if images.dtype != torch.uint8:
        raise TypeError(f"domain transforms work on uint8 images, got {images.dtype}")
    return images


@dataclass(frozen=True)
class TrainingDomains:
    """Domain A and domain B for training, with the rows of the split each was taken from."""

    index_a: torch.Tensor   # rows of the split that are domain A
    index_b: torch.Tensor   # rows of the split domain B is derived from (disjoint from index_a)
    images_a: torch.Tensor  # uint8, the rows index_a as they are
    labels_a: torch.Tensor
    images_b: torch.Tensor  # uint8, domain B made from the rows index_b


class DomainTask(ABC):
    """How to derive two unpaired domains from one prepared split; see the module docstring."""

    name: str
    description: str
    known_transform: ClassVar[bool]  # True when domain B is a known function of domain A
    has_classes: ClassVar[bool]      # True when each domain is one class of the dataset

    @abstractmethod
    def training_rows(self, prepared: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """Disjoint rows of the split for domain A and for domain B."""

    @abstractmethod
    def to_b(self, images: torch.Tensor) -> torch.Tensor:
        """Domain-B images made from the uint8 images of the rows chosen for domain B."""

    @abstractmethod
    def test_pairs(self, prepared_test: dict[str, Any]) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Held-out domain-A images and the true domain-B image of each (None if unknown), uint8."""

    @abstractmethod
    def real_b(self, prepared_test: dict[str, Any]) -> torch.Tensor:
        """The real domain-B images of a held-out split, uint8."""

    @abstractmethod
    def held_out(self, prepared_test: dict[str, Any], domain: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The real images of domain "a" or "b" in a held-out split (uint8), and their labels:
        the reference a generated domain is compared with."""

    def domain_class(self, domain: str) -> Optional[int]:
        """The dataset class that domain "a" or "b" is (class tasks), else None."""
        return None

    def held_out_split(self, prepared_test: dict[str, Any], domain: str) -> dict[str, Any]:
        """Domain "a" or "b" of a held-out split as a prepared split of its own (same dataset and
        split names, its own content hash), so real features can be computed on it as on any split."""
        from gans.data.prepared import content_sha256  # prepared imports the sources: only when asked

        images, labels = self.held_out(prepared_test, domain)
        return {**prepared_test, "data": images, "labels": labels,
                "sha256": content_sha256(images, labels), "domain_task": self.name, "domain": domain}

    def transform(self, images: torch.Tensor) -> torch.Tensor:
        """The known map from domain A to domain B (tasks with `known_transform` only)."""
        raise TypeError(f"domain task {self.name!r} has no known transform from A to B")

    def train_domains(self, prepared: dict[str, Any]) -> TrainingDomains:
        """Domain A and domain B of a (train) split, from disjoint rows."""
        images, labels = _images(prepared), prepared["labels"]
        index_a, index_b = self.training_rows(prepared)
        return TrainingDomains(index_a, index_b, images[index_a], labels[index_a],
                               self.to_b(images[index_b]))


@dataclass(frozen=True)
class TransformTask(DomainTask):
    """Domain B is a known pixel transform of domain A.

    Training cuts the split in two halves with a fixed permutation (seed HALVES_SEED): domain A
    is the first half as it is, domain B the transform of the second half. Evaluation pairs every
    test image with its transform.
    """

    name: str
    description: str
    transform: Callable[[torch.Tensor], torch.Tensor]
    known_transform: ClassVar[bool] = True
    has_classes: ClassVar[bool] = False

    def training_rows(self, prepared: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(prepared["labels"])
        order = torch.randperm(n, generator=torch.Generator().manual_seed(HALVES_SEED))
        half = n // 2
        return order[:half], order[half:2 * half]

    def to_b(self, images: torch.Tensor) -> torch.Tensor:
        return self.transform(images)

    def test_pairs(self, prepared_test: dict[str, Any]) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        source = _images(prepared_test)
        return source, self.transform(source)

    def real_b(self, prepared_test: dict[str, Any]) -> torch.Tensor:
        return self.transform(_images(prepared_test))

    def held_out(self, prepared_test: dict[str, Any], domain: str) -> tuple[torch.Tensor, torch.Tensor]:
        images = _images(prepared_test)
        return {"a": images, "b": self.transform(images)}[domain], prepared_test["labels"]


@dataclass(frozen=True)
class ClassPairTask(DomainTask):
    """Domain A is one class of a dataset, domain B another: disjoint by construction, never paired.

    `dataset`, when set, is the only dataset whose labels mean these classes; other datasets are
    refused rather than silently giving two unrelated classes.
    """

    name: str
    description: str
    class_a: int
    class_b: int
    dataset: Optional[str] = None
    known_transform: ClassVar[bool] = False
    has_classes: ClassVar[bool] = True

    def training_rows(self, prepared: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        return self._rows(prepared, self.class_a), self._rows(prepared, self.class_b)

    def to_b(self, images: torch.Tensor) -> torch.Tensor:
        return images

    def test_pairs(self, prepared_test: dict[str, Any]) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        return _images(prepared_test)[self._rows(prepared_test, self.class_a)], None

    def real_b(self, prepared_test: dict[str, Any]) -> torch.Tensor:
        return _images(prepared_test)[self._rows(prepared_test, self.class_b)]

    def held_out(self, prepared_test: dict[str, Any], domain: str) -> tuple[torch.Tensor, torch.Tensor]:
        rows = self._rows(prepared_test, self.domain_class(domain))
        return _images(prepared_test)[rows], prepared_test["labels"][rows]

    def domain_class(self, domain: str) -> Optional[int]:
        return {"a": self.class_a, "b": self.class_b}[domain]

    def _rows(self, prepared: dict[str, Any], cls: int) -> torch.Tensor:
        if self.dataset is not None and prepared.get("dataset") != self.dataset:
            raise ValueError(f"domain task {self.name!r} is defined on {self.dataset}, "
                             f"not on {prepared.get('dataset')!r}")
        rows = torch.nonzero(prepared["labels"] == cls).flatten()
        if len(rows) == 0:
            raise ValueError(f"domain task {self.name!r}: class {cls} has no images in this split")
        return rows


def class_pair(class_a: int, class_b: int, name: str, description: str,
               dataset: Optional[str] = None) -> ClassPairTask:
    """A task whose domains are two classes of one dataset (A = class_a, B = class_b)."""
    if class_a == class_b:
        raise ValueError(f"a class pair needs two different classes, got {class_a} twice")
    return ClassPairTask(name, description, class_a, class_b, dataset)


def _images(prepared: dict[str, Any]) -> torch.Tensor:
    if prepared.get("kind", "image") != "image":
        raise ValueError(f"two-domain tasks need image data, not {prepared.get('kind')!r}")
    return _uint8(prepared["data"])


DOMAIN_TASKS: Registry[DomainTask] = Registry("domain task")


def _register_domain_tasks() -> None:
    for task in (
        TransformTask("negative", "domain B is the negative of domain A (255 - x)", negative),
        TransformTask("edges", "domain B is the edge map of domain A (3x3 dilation minus the "
                               "image, as in CoGAN)", edges),
        class_pair(7, 9, "sneaker-boot", "Fashion-MNIST sneakers (class 7) <-> ankle boots (class 9)",
                   dataset="fashion-mnist"),
    ):
        DOMAIN_TASKS.register(task.name)(task)


_register_domain_tasks()
