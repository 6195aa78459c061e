"""Datasets: where each comes from, how one split becomes one uint8 tensor file, how batches are drawn.

A dataset source turns (split, raw directory) into native-resolution uint8 images and int labels.
`prepare_split` brings them to the configured resolution, checks they are the real set, and writes
one file (data, labels, sha256) atomically. Training then holds that file in memory and draws
minibatches in a seeded order (`BatchStream`), with no per-image decoding in the loop.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import pickle
import shutil
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from gans.quantize import uint8_to_float
from gans.registry import Registry
from gans.spec import Batch, DataSpec

SPLITS = ("train", "test")
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


class DataUnavailableError(RuntimeError):
    """The data is not on disk and could not be obtained; the message says how to get it."""


class DataCheckError(RuntimeError):
    """The data on disk is not the real set (wrong size or statistics)."""


@dataclass(frozen=True)
class RawSplit:
    """One split at native resolution: uint8 images N x C x H x W (or float points N x 2), int64 labels."""

    images: torch.Tensor
    labels: torch.Tensor


@dataclass(frozen=True)
class DatasetSource:
    """How to obtain and read one dataset.

    load(split, raw_dir, options) returns the split at native resolution, raising
    DataUnavailableError (naming the ways to get the data) when it is not there.
    """

    name: str
    kind: str
    num_classes: int
    channels: int
    default_resolution: int
    load: Callable[[str, Path, dict[str, Any]], RawSplit]
    expected_sizes: dict[str, int] = field(default_factory=dict)
    expected_train_mean: Optional[float] = None  # mean pixel in [0, 1] of the train split


DATASETS: Registry[DatasetSource] = Registry("dataset")


# --------------------------------------------------------------------------- IDX (MNIST family)
def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (MNIST format), gzipped or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataCheckError(f"{path} is not an unsigned-byte IDX file")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != math.prod(shape):
        raise DataCheckError(f"{path} is truncated: expected {math.prod(shape)} values, found {data.size}")
    return data.reshape(shape)


IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find_idx(directory: Path, stem: str) -> Optional[Path]:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def idx_split_from_dir(directory: Path, split: str) -> Optional[RawSplit]:
    """The split from a directory holding the four IDX files (plain or .gz), or None."""
    image_stem, label_stem = IDX_FILES[split]
    image_path, label_path = _find_idx(directory, image_stem), _find_idx(directory, label_stem)
    if image_path is None or label_path is None:
        return None
    images = torch.from_numpy(read_idx(image_path).copy()).unsqueeze(1)
    labels = torch.from_numpy(read_idx(label_path).astype(np.int64))
    return RawSplit(images, labels)


def unpack_idx_into(source_dir: Path, raw_dir: Path) -> None:
    """Decompress IDX files into raw_dir (where torchvision would keep them too).

    Debian's dataset-fashion-mnist recompresses the .gz files, so torchvision's md5 check rejects
    them; decompressed files are what both torchvision and our reader accept.
    """
    raw_dir.mkdir(parents=True, exist_ok=True)
    for stems in IDX_FILES.values():
        for stem in stems:
            src = _find_idx(source_dir, stem)
            if src is None:
                continue
            dst = raw_dir / stem
            if dst.exists():
                continue
            tmp = dst.with_suffix(".part")
            opener = gzip.open if src.suffix == ".gz" else open
            with opener(src, "rb") as fin, open(tmp, "wb") as fout:
                shutil.copyfileobj(fin, fout)
            os.replace(tmp, dst)


def _try_apt_install(package: str) -> bool:
    """Install a Debian package when apt-get is there and we are root; True on success."""
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return False
    print(f"[data] installing Debian package {package} ...", flush=True)
    result = subprocess.run(["apt-get", "install", "-y", "-q", package],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        update = subprocess.run(["apt-get", "update", "-q"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        if update.returncode == 0:
            result = subprocess.run(["apt-get", "install", "-y", "-q", package],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return result.returncode == 0


def _torchvision_download(dataset_cls_name: str, root: Path, **kwargs: Any) -> None:
    """The real download path for users with internet (torchvision's own code and checksums)."""
    import torchvision.datasets as tvd

    getattr(tvd, dataset_cls_name)(str(root), download=True, **kwargs)


def _missing(name: str, ways: Sequence[str]) -> DataUnavailableError:
    lines = "\n".join(f"  {i}. {way}" for i, way in enumerate(ways, 1))
    return DataUnavailableError(f"{name} is not available here. Get it one of these ways:\n{lines}")


def obtain_mnist_family(name: str, torchvision_class: str, split: str, raw_dir: Path,
                        options: dict[str, Any], debian: Optional[tuple[str, Path]] = None) -> RawSplit:
    """MNIST-format data from, in order: a directory the user names; raw_dir (already obtained);
    a Debian package (installed when missing and apt-get is usable); torchvision's download."""
    user_dir = options.get("source_dir")
    if user_dir:
        found = idx_split_from_dir(Path(user_dir), split)
        if found is None:
            raise DataUnavailableError(f"{name}: the directory {user_dir} (data.source_dir) holds no "
                                       f"{IDX_FILES[split][0]}[.gz] / {IDX_FILES[split][1]}[.gz]")
        return found
    found = idx_split_from_dir(raw_dir, split)
    if found is not None:
        return found
    if debian is not None:
        package, package_dir = debian
        if idx_split_from_dir(package_dir, split) is None and options.get("allow_apt", True):
            _try_apt_install(package)
        if idx_split_from_dir(package_dir, split) is not None:
            unpack_idx_into(package_dir, raw_dir)
            return idx_split_from_dir(raw_dir, split)  # type: ignore[return-value]
    if options.get("allow_download", True):
        try:
            _torchvision_download(torchvision_class, raw_dir.parent.parent)
        except Exception as error:  # no network, DNS failure, checksum failure, ...
            print(f"[data] torchvision download of {name} failed: {error}", flush=True)
        found = idx_split_from_dir(raw_dir, split)
        if found is not None:
            return found
    ways = [f"name a directory holding the IDX files: data.source_dir in config (or --source-dir)"]
    if debian is not None:
        ways.append(f"install the Debian package: apt-get install {debian[0]} (files in {debian[1]})")
    ways.append(f"go online: torchvision downloads it into {raw_dir}")
    raise _missing(name, ways)


def _load_fashion_mnist(split: str, raw_dir: Path, options: dict[str, Any]) -> RawSplit:
    return obtain_mnist_family("Fashion-MNIST", "FashionMNIST", split, raw_dir / "FashionMNIST" / "raw",
                               options, debian=("dataset-fashion-mnist",
                                                Path(options.get("debian_dir", DEBIAN_FASHION_MNIST_DIR))))


def _load_mnist(split: str, raw_dir: Path, options: dict[str, Any]) -> RawSplit:
    return obtain_mnist_family("MNIST", "MNIST", split, raw_dir / "MNIST" / "raw", options)


# --------------------------------------------------------------------------- CIFAR-10
def _load_cifar10(split: str, raw_dir: Path, options: dict[str, Any]) -> RawSplit:
    """CIFAR-10 from its python pickles (cifar-10-batches-py), downloaded by torchvision if allowed."""
    base = Path(options.get("source_dir") or raw_dir) / "cifar-10-batches-py"
    if not base.is_dir() and not options.get("source_dir") and options.get("allow_download", True):
        try:
            _torchvision_download("CIFAR10", raw_dir)
        except Exception as error:
            print(f"[data] torchvision download of CIFAR-10 failed: {error}", flush=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    if not all((base / n).is_file() for n in names):
        raise _missing("CIFAR-10", [f"put cifar-10-batches-py/ under a directory named by data.source_dir",
                                    f"or under {raw_dir}",
                                    "or go online: torchvision downloads it"])
    images, labels = [], []
    for n in names:
        with open(base / n, "rb") as f:
            entry = pickle.load(f, encoding="latin1")
        images.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.extend(entry["labels"])
    return RawSplit(torch.from_numpy(np.concatenate(images)), torch.tensor(labels, dtype=torch.int64))


# --------------------------------------------------------------------------- image folders (CelebA too)
def _read_images(paths: Sequence[Path], crop: Optional[int] = None) -> torch.Tensor:
    from PIL import Image

    arrays = []
    for p in paths:
        with Image.open(p) as img:
            img = img.convert("RGB")
            if crop:
                w, h = img.size
                left, top = (w - crop) // 2, (h - crop) // 2
                img = img.crop((left, top, left + crop, top + crop))
            arrays.append(np.asarray(img, dtype=np.uint8).transpose(2, 0, 1))
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise DataCheckError(f"images differ in size ({sorted(shapes)[:3]}...): crop or resize them first")
    return torch.from_numpy(np.stack(arrays))


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}


def _load_image_folder(split: str, raw_dir: Path, options: dict[str, Any]) -> RawSplit:
    """<source_dir>/<split>/<class>/*.png (torchvision ImageFolder layout), labels by sorted class name."""
    root = options.get("source_dir")
    if not root:
        raise DataUnavailableError("image-folder needs data.source_dir: a directory with "
                                   "<split>/<class>/<image> files")
    split_dir = Path(root) / split
    classes = sorted(d.name for d in split_dir.iterdir() if d.is_dir()) if split_dir.is_dir() else []
    if not classes:
        raise DataUnavailableError(f"image-folder: {split_dir} has no class subdirectories")
    paths, labels = [], []
    for index, cls in enumerate(classes):
        files = sorted(p for p in (split_dir / cls).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        paths += files
        labels += [index] * len(files)
    return RawSplit(_read_images(paths), torch.tensor(labels, dtype=torch.int64))


CELEBA_SPLIT_CODES = {"train": "0", "test": "2"}


def _load_celeba(split: str, raw_dir: Path, options: dict[str, Any]) -> RawSplit:
    """CelebA aligned faces, centre-cropped to 140 px (resized later); label 0 (unconditional)."""
    base = Path(options.get("source_dir") or raw_dir) / "celeba"
    partition = base / "list_eval_partition.txt"
    if not partition.is_file() and not options.get("source_dir") and options.get("allow_download", True):
        try:
            _torchvision_download("CelebA", raw_dir, split="all")
        except Exception as error:
            print(f"[data] torchvision download of CelebA failed: {error}", flush=True)
    if not partition.is_file():
        raise _missing("CelebA", ["put celeba/ (img_align_celeba/, list_eval_partition.txt) under "
                                  "data.source_dir", f"or under {raw_dir}",
                                  "or go online: torchvision downloads it"])
    names = [line.split()[0] for line in partition.read_text().splitlines()
             if line.strip() and line.split()[1] == CELEBA_SPLIT_CODES[split]]
    images = _read_images([base / "img_align_celeba" / n for n in names], crop=options.get("crop", 140))
    return RawSplit(images, torch.zeros(len(names), dtype=torch.int64))


# --------------------------------------------------------------------------- toy 2D Gaussians
@dataclass(frozen=True)
class ToyMixture:
    modes: torch.Tensor  # K x 2
    sigma: float
    sizes: dict[str, int]


def ring_modes(k: int = 8, radius: float = 2.0) -> torch.Tensor:
    angles = torch.arange(k, dtype=torch.float64) * (2 * math.pi / k)
    return torch.stack([radius * torch.cos(angles), radius * torch.sin(angles)], 1).float()


def grid_modes(side: int = 5, spacing: float = 2.0) -> torch.Tensor:
    coords = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    return torch.cartesian_prod(coords, coords)


TOY_MIXTURES = {
    "ring-8": ToyMixture(ring_modes(), 0.02, {"train": 50_000, "test": 10_000}),
    "grid-25": ToyMixture(grid_modes(), 0.05, {"train": 50_000, "test": 10_000}),
}
TOY_SPLIT_SEEDS = {"train": 1, "test": 2}


def sample_toy(name: str, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Points and mode labels of a toy split, from a fixed per-split seed."""
    mixture = TOY_MIXTURES[name]
    generator = torch.Generator().manual_seed(TOY_SPLIT_SEEDS[split])
    n = mixture.sizes[split]
    labels = torch.randint(len(mixture.modes), (n,), generator=generator)
    points = mixture.modes[labels] + mixture.sigma * torch.randn(n, 2, generator=generator)
    return points, labels


def _toy_loader(name: str) -> Callable[[str, Path, dict[str, Any]], RawSplit]:
    def load(split: str, raw_dir: Path, options: dict[str, Any]) -> RawSplit:
        return RawSplit(*sample_toy(name, split))

    return load


def _register_defaults() -> None:
    mnist_sizes = {"train": 60_000, "test": 10_000}
    for source in (
        DatasetSource("fashion-mnist", "image", 10, 1, 32, _load_fashion_mnist, mnist_sizes, 0.2860),
        DatasetSource("mnist", "image", 10, 1, 32, _load_mnist, mnist_sizes, 0.1307),
        DatasetSource("cifar10", "image", 10, 3, 32, _load_cifar10, {"train": 50_000, "test": 10_000}),
        DatasetSource("celeba", "image", 1, 3, 64, _load_celeba),
        DatasetSource("image-folder", "image", 0, 3, 32, _load_image_folder),
    ):
        DATASETS.register(source.name)(source)
    for name, mixture in TOY_MIXTURES.items():
        DATASETS.register(name)(DatasetSource(name, "points", len(mixture.modes), 2, 0,
                                              _toy_loader(name), dict(mixture.sizes)))


_register_defaults()


# --------------------------------------------------------------------------- prepare
def to_resolution(images: torch.Tensor, resolution: int) -> torch.Tensor:
    """Pad smaller images with black borders (28 -> 32 keeps every pixel); resize larger ones
    with antialiased bilinear filtering. Square images only."""
    size = images.shape[-1]
    if size == resolution:
        return images
    if size < resolution:
        total = resolution - size
        before = total // 2
        return F.pad(images, (before, total - before, before, total - before))
    resized = F.interpolate(images.float(), size=(resolution, resolution), mode="bilinear",
                            antialias=True, align_corners=False)
    return resized.round().clamp(0, 255).to(torch.uint8)


def content_sha256(data: torch.Tensor, labels: torch.Tensor) -> str:
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
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".part")
    try:
        torch.save(record, tmp)
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return record


def load_prepared(path: Path | str) -> dict[str, Any]:
    """Read a file written by prepare_split."""
    return torch.load(Path(path), weights_only=False)


def spec_of(prepared: dict[str, Any], task: str = "unconditional") -> DataSpec:
    """The DataSpec a model is built from, read off a prepared split."""
    data = prepared["data"]
    return DataSpec(dataset=prepared["dataset"], channels=int(data.shape[1]),
                    resolution=int(prepared["resolution"]), num_classes=int(prepared["num_classes"]),
                    task=task, kind=prepared["kind"])


# --------------------------------------------------------------------------- batches
class BatchStream:
    """Minibatches in a seeded order, epoch after epoch, held on the training device.

    Its state (permutation generator, epoch, position) goes into checkpoints, so a resumed run
    draws exactly the batches an uninterrupted one would. For two-domain tasks the prepared split
    is cut into two disjoint halves by a fixed permutation; domain B is derived from its half by
    `domain_relation` ("negative": x -> -x), so no pair is shared between the domains.
    """

    def __init__(self, prepared: dict[str, Any], batch_size: int, seed: int,
                 device: torch.device | str = "cpu", task: str = "unconditional",
                 domain_relation: str = "negative") -> None:
        data, labels = prepared["data"], prepared["labels"]
        if batch_size < 1 or batch_size > len(data):
            raise ValueError(f"batch_size must be in [1, {len(data)}], got {batch_size}")
        self.device = torch.device(device)
        self.kind = prepared["kind"]
        self.task = task
        self.batch_size = batch_size
        self.data = data.to(self.device)
        self.labels = labels.to(self.device)
        self.domain_b: Optional[torch.Tensor] = None
        self.index_b: Optional[torch.Tensor] = None
        if task == "two-domain":
            split = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
            half = len(data) // 2
            self.index_a, self.index_b = split[:half], split[half:2 * half]
            self.domain_b = DOMAIN_RELATIONS[domain_relation](self._as_float(self.data[self.index_b.to(self.device)]))
        else:
            self.index_a = torch.arange(len(data))
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch = 0
        self.position = 0
        self.order_a = torch.randperm(len(self.index_a), generator=self.generator)
        self.order_b = torch.randperm(len(self.index_a), generator=self.generator)

    def _as_float(self, x: torch.Tensor) -> torch.Tensor:
        return uint8_to_float(x) if self.kind == "image" else x.float()

    def _next_indices(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.position + self.batch_size > len(self.order_a):
            self.epoch += 1
            self.position = 0
            self.order_a = torch.randperm(len(self.index_a), generator=self.generator)
            self.order_b = torch.randperm(len(self.index_a), generator=self.generator)
        sl = slice(self.position, self.position + self.batch_size)
        self.position += self.batch_size
        return self.order_a[sl], self.order_b[sl]

    def next(self, n_minibatches: int = 1) -> Batch:
        """n minibatches (each of batch_size, in the seeded order) concatenated into one Batch."""
        xs, ys, xbs = [], [], []
        for _ in range(n_minibatches):
            pick_a, pick_b = self._next_indices()
            rows = self.index_a[pick_a].to(self.device)
            xs.append(self._as_float(self.data[rows]))
            ys.append(self.labels[rows])
            if self.domain_b is not None:
                xbs.append(self.domain_b[pick_b.to(self.device)])
        return Batch(torch.cat(xs), torch.cat(ys), torch.cat(xbs) if xbs else None)

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state(), "epoch": self.epoch,
                "position": self.position, "order_a": self.order_a, "order_b": self.order_b}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self.order_a, self.order_b = state["order_a"], state["order_b"]


DOMAIN_RELATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "negative": lambda x: -x,  # the image's negative: [-1, 1] flipped
    "identity": lambda x: x,
}
