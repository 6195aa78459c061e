"""The data layer: the real-set check, deterministic prepare, clear offline errors, every loader."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from gans import data as gdata
from gans.data import (BatchStream, DataCheckError, DataUnavailableError, load_prepared,
                       prepare_split, spec_of, to_resolution)
from gans.data import sources
from gans.quantize import uint8_to_float


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)


def write_idx_dir(directory: Path, n_train: int, n_test: int, compress: bool, value: int = 73) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("test", n_test)):
        images_name, labels_name = gdata.IDX_FILES[split]
        images = np.full((n, 28, 28), value, dtype=np.uint8)
        images[:, 0, 0] = rng.integers(0, 255, n)
        write_idx(directory / images_name, images, compress)
        write_idx(directory / labels_name, rng.integers(0, 10, n), compress)


# ------------------------------------------------------------------ the real Fashion-MNIST
def test_fashion_mnist_is_the_real_set(fashion_mnist_dir: Path) -> None:
    train, test = load_prepared(fashion_mnist_dir / "train.pt"), load_prepared(fashion_mnist_dir / "test.pt")
    assert train["data"].shape == (60000, 1, 32, 32) and train["data"].dtype == torch.uint8
    assert test["data"].shape == (10000, 1, 32, 32)
    # the 2-pixel padding is black, so the native 28x28 mean is recovered by rescaling
    native_mean = train["data"].double().mean().item() / 255 * (32 * 32) / (28 * 28)
    assert abs(native_mean - 0.2860) < 5e-4
    assert train["data"][:, :, :2, :].max() == 0 and train["data"][:, :, :, -2:].max() == 0
    assert sorted(train["labels"].unique().tolist()) == list(range(10))
    assert torch.bincount(test["labels"]).tolist() == [1000] * 10


def test_prepare_is_deterministic(fashion_mnist_dir: Path, tmp_path: Path) -> None:
    again = prepare_split("fashion-mnist", "test", tmp_path / "test.pt", Path("data/raw"),
                          options={"allow_download": False})
    assert again["sha256"] == load_prepared(fashion_mnist_dir / "test.pt")["sha256"]
    assert torch.equal(again["data"], load_prepared(fashion_mnist_dir / "test.pt")["data"])


def test_wrong_data_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "fake"
    write_idx_dir(source, 60000, 10000, compress=True)
    with pytest.raises(DataCheckError, match="mean pixel"):
        prepare_split("fashion-mnist", "train", tmp_path / "out.pt", tmp_path / "raw",
                      options={"source_dir": str(source)})
    write_idx_dir(tmp_path / "small", 100, 10, compress=False)
    with pytest.raises(DataCheckError, match="100 images, expected 60000"):
        prepare_split("fashion-mnist", "train", tmp_path / "out.pt", tmp_path / "raw",
                      options={"source_dir": str(tmp_path / "small")})
    assert not (tmp_path / "out.pt").exists()


def test_missing_data_offline_gives_one_clear_error(tmp_path: Path, monkeypatch) -> None:
    tried = []

    def offline(*args, **kwargs):
        tried.append(args)
        raise OSError("network is unreachable")

    monkeypatch.setattr(sources, "_torchvision_download", offline)
    out_dir = tmp_path / "prepared"
    with pytest.raises(DataUnavailableError) as info:
        prepare_split("fashion-mnist", "train", out_dir / "train.pt", tmp_path / "raw",
                      options={"allow_apt": False, "debian_dir": str(tmp_path / "no-debian")})
    message = str(info.value)
    assert tried  # the download path was taken (and stubbed), not skipped
    assert "data.source_dir" in message and "apt-get install dataset-fashion-mnist" in message
    assert "torchvision downloads it" in message
    assert not out_dir.exists() or not any(out_dir.iterdir())  # nothing half-written
    assert not any(p.is_file() for p in (tmp_path / "raw").rglob("*")) if (tmp_path / "raw").exists() else True


def test_debian_layout_is_unpacked_for_torchvision(tmp_path: Path) -> None:
    debian = tmp_path / "debian"
    write_idx_dir(debian, 30, 20, compress=True)
    record = prepare_split("mnist", "test", tmp_path / "t.pt", tmp_path / "raw", check=False,
                           options={"source_dir": str(debian)})
    assert record["data"].shape == (20, 1, 32, 32)
    # the Debian route decompresses into <raw>/FashionMNIST/raw where torchvision looks
    gdata.unpack_idx_into(debian, tmp_path / "raw" / "FashionMNIST" / "raw")
    import torchvision

    ds = torchvision.datasets.FashionMNIST(str(tmp_path / "raw"), train=True, download=False)
    assert len(ds) == 30


# ------------------------------------------------------------------ other loaders on made-up data
def test_mnist_loader_reads_raw_dir(tmp_path: Path) -> None:
    write_idx_dir(tmp_path / "raw" / "MNIST" / "raw", 40, 12, compress=False)
    record = prepare_split("mnist", "train", tmp_path / "m.pt", tmp_path / "raw", check=False,
                           options={"allow_download": False})
    assert record["data"].shape == (40, 1, 32, 32) and record["num_classes"] == 10


def test_cifar10_loader(tmp_path: Path) -> None:
    base = tmp_path / "raw" / "cifar-10-batches-py"
    base.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        entry = {"data": rng.integers(0, 255, (7, 3072), dtype=np.uint8), "labels": list(range(7))}
        with open(base / name, "wb") as f:
            pickle.dump(entry, f)
    record = prepare_split("cifar10", "train", tmp_path / "c.pt", tmp_path / "raw", check=False,
                           options={"allow_download": False})
    assert record["data"].shape == (35, 3, 32, 32) and record["labels"][:7].tolist() == list(range(7))


def _write_png(path: Path, size: int, value: int) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), value, dtype=np.uint8)).save(path)


def test_image_folder_and_celeba_loaders(tmp_path: Path) -> None:
    for cls, value in (("cats", 10), ("dogs", 200)):
        for i in range(3):
            _write_png(tmp_path / "folder" / "train" / cls / f"{i}.png", 40, value)
    record = prepare_split("image-folder", "train", tmp_path / "f.pt", tmp_path / "raw", 32,
                           options={"source_dir": str(tmp_path / "folder")})
    assert record["data"].shape == (6, 3, 32, 32) and record["labels"].tolist() == [0, 0, 0, 1, 1, 1]
    assert record["num_classes"] == 2

    celeba = tmp_path / "celeb" / "celeba"
    for i in range(4):
        _write_png(celeba / "img_align_celeba" / f"{i:06d}.jpg", 178, 50 * i)
    (celeba / "list_eval_partition.txt").write_text("".join(f"{i:06d}.jpg {0 if i < 3 else 2}\n"
                                                            for i in range(4)))
    record = prepare_split("celeba", "train", tmp_path / "cel.pt", tmp_path / "raw", 64,
                           options={"source_dir": str(tmp_path / "celeb")})
    assert record["data"].shape == (3, 3, 64, 64)


def test_toy_mixtures(tmp_path: Path) -> None:
    record = prepare_split("ring-8", "train", tmp_path / "r.pt", tmp_path / "raw")
    assert record["data"].shape == (50000, 2) and record["modes"].shape == (8, 2)
    radius = record["modes"].norm(dim=1)
    assert torch.allclose(radius, torch.full((8,), 2.0), atol=1e-5)
    nearest = torch.cdist(record["data"], record["modes"]).argmin(1)
    assert torch.equal(nearest, record["labels"])
    grid = prepare_split("grid-25", "test", tmp_path / "g.pt", tmp_path / "raw")
    assert grid["modes"].shape == (25, 2) and grid["data"].shape == (10000, 2)
    assert spec_of(grid).kind == "points" and spec_of(grid).sample_shape == (2,)


def test_to_resolution_pads_small_and_resizes_large() -> None:
    small = torch.full((2, 1, 28, 28), 9, dtype=torch.uint8)
    padded = to_resolution(small, 32)
    assert padded.shape == (2, 1, 32, 32) and padded[:, :, 2:30, 2:30].eq(9).all() and padded[:, :, 0].eq(0).all()
    large = torch.full((1, 3, 64, 64), 100, dtype=torch.uint8)
    assert to_resolution(large, 32).eq(100).all()


def test_resizing_in_chunks_changes_no_pixel() -> None:
    """CelebA's train split is resized a chunk at a time (as one float tensor it needs 38 GB)."""
    images = torch.randint(0, 256, (7, 3, 50, 50), generator=torch.Generator().manual_seed(0),
                           dtype=torch.uint8)
    whole = to_resolution(images, 32, chunk=len(images))
    assert whole.shape == (7, 3, 32, 32) and whole.dtype == torch.uint8
    assert torch.equal(to_resolution(images, 32, chunk=3), whole)
    assert torch.equal(to_resolution(images[5:], 32), whole[5:])


# ------------------------------------------------------------------ batches
def test_batch_stream_is_seeded_and_resumable(tiny_data: Path) -> None:
    prepared = load_prepared(tiny_data)
    a, b = BatchStream(prepared, 32, seed=3), BatchStream(prepared, 32, seed=3)
    for _ in range(5):
        assert torch.equal(a.next().x, b.next().x)
    state = a.state_dict()
    expected = [a.next(2).x for _ in range(6)]  # crosses an epoch boundary (256 / 32 = 8 per epoch)
    c = BatchStream(prepared, 32, seed=99)
    c.load_state_dict(state)
    assert all(torch.equal(c.next(2).x, e) for e in expected)
    other = BatchStream(prepared, 32, seed=4)
    assert not torch.equal(other.next().x, BatchStream(prepared, 32, seed=3).next().x)
    x = a.next().x
    assert x.min() >= -1 and x.max() <= 1 and x.dtype == torch.float32


class ReferenceOrder:
    """BatchStream's single-domain order as it was before gans/data became a package (cc698ee).

    Kept here on purpose: it pins the order every trained model so far saw. Two permutations per
    epoch (the second unused), a new epoch when fewer than batch_size indices remain.
    """

    def __init__(self, n: int, batch_size: int, seed: int) -> None:
        self.n, self.batch_size = n, batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch, self.position = 0, 0
        self.order_a = torch.randperm(n, generator=self.generator)
        self.order_b = torch.randperm(n, generator=self.generator)

    def next_rows(self) -> torch.Tensor:
        if self.position + self.batch_size > len(self.order_a):
            self.epoch += 1
            self.position = 0
            self.order_a = torch.randperm(self.n, generator=self.generator)
            self.order_b = torch.randperm(self.n, generator=self.generator)
        rows = self.order_a[self.position:self.position + self.batch_size]
        self.position += self.batch_size
        return rows

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state(), "epoch": self.epoch,
                "position": self.position, "order_a": self.order_a, "order_b": self.order_b}


def numbered(n: int = 100, dataset: str = "numbered") -> dict:
    """A prepared split whose image i is filled with the value i (label i % 10), so a batch
    tells its rows."""
    data = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 4, 4).contiguous()
    return {"data": data, "labels": torch.arange(n) % 10, "kind": "image", "dataset": dataset,
            "resolution": 4, "num_classes": 10}


def rows_of(x: torch.Tensor) -> list[int]:
    """The row numbers of a batch drawn from `numbered` (inverse of uint8_to_float)."""
    return torch.round((x[:, 0, 0, 0] + 1) * 127.5).long().tolist()


def test_single_domain_order_is_bit_identical_to_before(tiny_data: Path) -> None:
    prepared = load_prepared(tiny_data)
    n, batch_size = 100, 7  # 14 batches an epoch, 2 rows left over each time
    prepared = {**prepared, "data": prepared["data"][:n], "labels": prepared["labels"][:n]}
    stream, reference = BatchStream(prepared, batch_size, seed=5), ReferenceOrder(n, batch_size, seed=5)
    for _ in range(3 * 14 + 1):  # three epochs and into the fourth
        rows = reference.next_rows()
        batch = stream.next()
        assert torch.equal(batch.x, uint8_to_float(prepared["data"][rows]))
        assert torch.equal(batch.y, prepared["labels"][rows]) and batch.x_b is None
    assert (stream.epoch, stream.position) == (reference.epoch, reference.position) == (3, 7)
    # a checkpoint written by the old stream resumes into the new one, and vice versa
    resumed = BatchStream(prepared, batch_size, seed=0)
    resumed.load_state_dict(reference.state_dict())
    saved = stream.state_dict()
    for _ in range(20):
        rows = reference.next_rows()
        assert torch.equal(resumed.next().x, uint8_to_float(prepared["data"][rows]))
    again = BatchStream(prepared, batch_size, seed=1)
    again.load_state_dict(saved)
    assert torch.equal(again.next(3).x, stream.next(3).x)


def test_batch_size_may_change_per_call() -> None:
    prepared = numbered(100)
    stream = BatchStream(prepared, 16, seed=2)
    assert len(stream.next()) == 16 and len(stream.next(batch_size=5)) == 5
    assert len(stream.next(3, batch_size=4)) == 12 and stream.batch_size == 16
    with pytest.raises(ValueError, match=r"batch_size must be in \[1, 100\]"):
        stream.next(batch_size=101)

    stream = BatchStream(prepared, 16, seed=2)
    seen: dict[int, list[int]] = {}
    for size in [30, 7, 25, 9, 40, 3, 33, 1, 50, 16] * 3:
        epoch, left = stream.epoch, 100 - stream.position
        rows = rows_of(stream.next(batch_size=size).x)
        assert len(rows) == size
        if stream.epoch != epoch:  # a new epoch starts only when the old one can't fill the batch
            assert left < size and stream.position == size
        seen.setdefault(stream.epoch, []).extend(rows)
    assert len(seen) > 3
    for rows in seen.values():
        assert len(rows) == len(set(rows)) <= 100  # no row twice within an epoch


def test_resume_with_another_batch_size_draws_the_same_batches() -> None:
    prepared = numbered(100)
    sizes = [8, 8, 8, 20, 20, 20, 20, 20, 13, 13, 13, 13, 13, 13, 13, 13, 13]
    whole = BatchStream(prepared, 8, seed=11)
    expected = [whole.next(batch_size=size).x for size in sizes]
    first = BatchStream(prepared, 8, seed=11)
    for size in sizes[:3]:
        first.next(batch_size=size)
    resumed = BatchStream(prepared, 20, seed=99)  # another construction size and seed
    resumed.load_state_dict(first.state_dict())
    for size, want in zip(sizes[3:], expected[3:]):
        assert torch.equal(resumed.next(batch_size=size).x, want)


def test_two_domain_stream_serves_disjoint_unpaired_domains() -> None:
    prepared = numbered(100)
    stream = BatchStream(prepared, 10, seed=0, domain_task="negative")
    task = gdata.DOMAIN_TASKS.get("negative").train_domains(prepared)
    rows_a, rows_b = set(task.index_a.tolist()), set(task.index_b.tolist())
    drawn_a, drawn_b = [], []
    for _ in range(12):  # 5 batches an epoch of 50 rows: crosses two epoch boundaries
        batch = stream.next()
        assert batch.x.shape == batch.x_b.shape == (10, 1, 4, 4)
        assert torch.equal(batch.y, prepared["labels"][rows_of(batch.x)])
        drawn_a += rows_of(batch.x)
        drawn_b += rows_of(-batch.x_b)  # domain B is the negative of its rows
        assert torch.allclose(batch.x_b, uint8_to_float(255 - prepared["data"][rows_of(-batch.x_b)]))
    assert set(drawn_a) <= rows_a and set(drawn_b) <= rows_b and rows_a.isdisjoint(rows_b)
    assert set(drawn_a) == rows_a and set(drawn_b) == rows_b  # each epoch covers its half

    assert BatchStream(prepared, 10, seed=0).next().x_b is None
    with pytest.raises(KeyError, match="edges, negative, sneaker-boot"):
        BatchStream(prepared, 10, seed=0, domain_task="rotate")


def test_class_pair_stream_serves_the_two_classes() -> None:
    prepared = numbered(100, dataset="fashion-mnist")  # labels i % 10: ten sneakers, ten boots
    stream = BatchStream(prepared, 5, seed=0, domain_task="sneaker-boot")
    for _ in range(6):
        batch = stream.next()
        assert all(row % 10 == 7 for row in rows_of(batch.x)) and batch.y.eq(7).all()
        assert all(row % 10 == 9 for row in rows_of(batch.x_b))


def test_two_domain_stream_needs_images(tmp_path: Path) -> None:
    ring = prepare_split("ring-8", "test", tmp_path / "r.pt", tmp_path / "raw")
    with pytest.raises(ValueError, match="need image data"):
        BatchStream(ring, 10, seed=0, domain_task="negative")

