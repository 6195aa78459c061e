"""Where each dataset comes from: the source registry and the code that obtains and reads raw files.

A dataset source turns (split, raw directory, options) into native-resolution uint8 images and int
labels, or raises DataUnavailableError naming every way to get the data. Acquisition is tried in
a fixed order (a directory the user names, what is already on disk, a Debian package, torchvision's
download), so offline machines work and users with internet still get the real download path.
Bringing images to a resolution and writing them is prepared.py's job; the toy mixtures live in
toy.py.
"""

from __future__ import annotations

import gzip
import math
import os
import pickle
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from gans.io import write_atomic
from gans.registry import Registry

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


IDX_FILES = MappingProxyType({
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
})


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
            if not dst.exists():
                write_atomic(dst, lambda tmp, src=src: _decompress(src, tmp))


def _decompress(src: Path, dst: Path) -> None:
    opener = gzip.open if src.suffix == ".gz" else open
    with opener(src, "rb") as fin, open(dst, "wb") as fout:
        shutil.copyfileobj(fin, fout)


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


IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp"})


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


CELEBA_SPLIT_CODES = MappingProxyType({"train": "0", "test": "2"})


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


def _register_image_datasets() -> None:
    mnist_sizes = {"train": 60_000, "test": 10_000}
    for source in (
        DatasetSource("fashion-mnist", "image", 10, 1, 32, _load_fashion_mnist, mnist_sizes, 0.2860),
        DatasetSource("mnist", "image", 10, 1, 32, _load_mnist, mnist_sizes, 0.1307),
        DatasetSource("cifar10", "image", 10, 3, 32, _load_cifar10, {"train": 50_000, "test": 10_000}),
        DatasetSource("celeba", "image", 1, 3, 64, _load_celeba),
        DatasetSource("image-folder", "image", 0, 3, 32, _load_image_folder),
    ):
        DATASETS.register(source.name)(source)


_register_image_datasets()
