"""Two-domain tasks: exact transforms, disjoint unpaired training domains, aligned test pairs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gans.data import DOMAIN_TASKS, class_pair, edges, load_prepared, negative
from gans.quantize import uint8_to_float


def split(n: int = 101, seed: int = 0, dataset: str = "synthetic") -> dict:
    """A prepared split of random uint8 images with labels 0..3 (n odd: one row is left over)."""
    g = torch.Generator().manual_seed(seed)
    return {"data": torch.randint(0, 256, (n, 1, 8, 8), generator=g, dtype=torch.uint8),
            "labels": torch.randint(4, (n,), generator=g), "kind": "image", "dataset": dataset}


def test_registry_lists_the_tasks_and_names_them_on_error() -> None:
    assert DOMAIN_TASKS.names() == ["edges", "negative", "sneaker-boot"]
    assert [DOMAIN_TASKS.get(n).known_transform for n in DOMAIN_TASKS] == [True, True, False]
    assert all(DOMAIN_TASKS.get(n).description for n in DOMAIN_TASKS)
    with pytest.raises(KeyError, match=r"unknown domain task 'rotate' \(known: edges, negative, sneaker-boot\)"):
        DOMAIN_TASKS.get("rotate")


def test_negative_is_exact() -> None:
    images = split()["data"]
    assert negative(images).dtype == torch.uint8
    assert torch.equal(images.int() + negative(images).int(), torch.full(images.shape, 255, dtype=torch.int32))
    assert torch.allclose(negative(images).double() / 255, 1 - images.double() / 255)
    assert torch.allclose(uint8_to_float(negative(images)), -uint8_to_float(images), atol=1e-6)
    with pytest.raises(TypeError, match="uint8"):
        negative(images.float())


def test_edges_of_a_hand_made_image() -> None:
    image = torch.tensor([[0, 0, 0, 0, 5],
                          [0, 0, 0, 0, 0],
                          [0, 0, 9, 0, 0],
                          [0, 0, 0, 0, 0],
                          [200, 0, 0, 0, 0]], dtype=torch.uint8)
    # 3x3 max over the pixels inside the image, worked out by hand
    dilated = torch.tensor([[0, 0, 0, 5, 5],
                            [0, 9, 9, 9, 5],
                            [0, 9, 9, 9, 0],
                            [200, 200, 9, 9, 0],
                            [200, 200, 0, 0, 0]], dtype=torch.uint8)
    edge = edges(image.view(1, 1, 5, 5))
    assert edge.dtype == torch.uint8 and edge.shape == (1, 1, 5, 5)
    assert torch.equal(edge[0, 0], dilated - image)
    # a flat image has no edges; every image is exact against a per-pixel loop on random data
    assert edges(torch.full((2, 1, 6, 6), 77, dtype=torch.uint8)).eq(0).all()
    images = split(n=3)["data"]
    padded = torch.nn.functional.pad(images.int(), (1, 1, 1, 1))  # 0 never wins a max of uint8
    loop = torch.stack([padded[..., dy:dy + 8, dx:dx + 8] for dy in range(3) for dx in range(3)]).amax(0)
    assert torch.equal(edges(images), (loop - images.int()).to(torch.uint8))


@pytest.mark.parametrize("name, transform", [("negative", negative), ("edges", edges)])
def test_transform_training_halves_are_disjoint(name: str, transform) -> None:
    prepared = split(n=101)
    domains = DOMAIN_TASKS.get(name).train_domains(prepared)
    a, b = domains.index_a.tolist(), domains.index_b.tolist()
    assert len(a) == len(b) == 50 and len(set(a)) == 50 and len(set(b)) == 50
    assert set(a).isdisjoint(b) and len(set(a) | set(b)) <= 101
    assert torch.equal(domains.images_a, prepared["data"][domains.index_a])
    assert torch.equal(domains.labels_a, prepared["labels"][domains.index_a])
    assert torch.equal(domains.images_b, transform(prepared["data"][domains.index_b]))
    # the halves are the fixed seed-0 cut the two-domain stream always used, whatever the global seed
    torch.manual_seed(1234)
    cut = torch.randperm(101, generator=torch.Generator().manual_seed(0))
    assert torch.equal(domains.index_a, cut[:50]) and torch.equal(domains.index_b, cut[50:100])
    assert torch.equal(DOMAIN_TASKS.get(name).train_domains(prepared).index_b, domains.index_b)


@pytest.mark.parametrize("name, transform", [("negative", negative), ("edges", edges)])
def test_transform_test_pairs_line_up(name: str, transform) -> None:
    prepared_test = split(n=40, seed=3)
    task = DOMAIN_TASKS.get(name)
    source, target = task.test_pairs(prepared_test)
    assert torch.equal(source, prepared_test["data"]) and target is not None
    for i in range(len(source)):
        assert torch.equal(transform(source[i:i + 1])[0], target[i])
    assert torch.equal(task.real_b(prepared_test), target)


def test_class_pair_domains_hold_only_their_class() -> None:
    prepared = split(n=200)
    task = class_pair(1, 3, "one-three", "classes 1 and 3 of the synthetic split")
    assert not task.known_transform
    domains = task.train_domains(prepared)
    labels = prepared["labels"]
    assert labels[domains.index_a].eq(1).all() and labels[domains.index_b].eq(3).all()
    assert len(domains.index_a) == labels.eq(1).sum() and len(domains.index_b) == labels.eq(3).sum()
    assert torch.equal(domains.images_b, prepared["data"][labels == 3])  # no transform
    assert domains.labels_a.eq(1).all()
    source, target = task.test_pairs(prepared)
    assert target is None and torch.equal(source, prepared["data"][labels == 1])
    assert torch.equal(task.real_b(prepared), prepared["data"][labels == 3])
    with pytest.raises(ValueError, match="class 7 has no images"):
        class_pair(7, 1, "x", "y").train_domains(prepared)
    with pytest.raises(ValueError, match="two different classes"):
        class_pair(2, 2, "x", "y")


def test_sneaker_boot_is_fashion_mnist_only(fashion_mnist_dir: Path) -> None:
    task = DOMAIN_TASKS.get("sneaker-boot")
    with pytest.raises(ValueError, match="defined on fashion-mnist"):
        task.train_domains(split())
    train = load_prepared(fashion_mnist_dir / "train.pt")
    test = load_prepared(fashion_mnist_dir / "test.pt")
    domains = task.train_domains(train)
    assert len(domains.images_a) == len(domains.images_b) == 6000
    assert train["labels"][domains.index_a].eq(7).all() and train["labels"][domains.index_b].eq(9).all()
    source, target = task.test_pairs(test)
    assert source.shape == (1000, 1, 32, 32) and target is None
    assert torch.equal(task.real_b(test), test["data"][test["labels"] == 9])


def test_domain_tasks_need_uint8_images() -> None:
    points = {"data": torch.randn(10, 2), "labels": torch.zeros(10, dtype=torch.long), "kind": "points"}
    with pytest.raises(ValueError, match="need image data"):
        DOMAIN_TASKS.get("negative").train_domains(points)


def test_held_out_domains_are_the_references_of_each_domain():
    from gans.data import DOMAIN_TASKS

    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (40, 1, 8, 8), generator=g, dtype=torch.uint8)
    labels = torch.arange(40) % 10
    test = {"data": images, "labels": labels, "dataset": "fashion-mnist", "split": "test",
            "kind": "image", "num_classes": 10, "sha256": "x"}
    negative, pair = DOMAIN_TASKS.get("negative"), DOMAIN_TASKS.get("sneaker-boot")
    assert torch.equal(negative.held_out(test, "b")[0], 255 - images)
    assert torch.equal(negative.held_out(test, "a")[1], labels) and negative.domain_class("b") is None
    boots, boot_labels = pair.held_out(test, "b")
    assert torch.equal(boots, images[labels == 9]) and set(boot_labels.tolist()) == {9}
    assert (pair.domain_class("a"), pair.domain_class("b")) == (7, 9)
    assert negative.known_transform and not negative.has_classes and pair.has_classes
    with pytest.raises(TypeError, match="no known transform"):
        pair.transform(images)
    split = pair.held_out_split(test, "a")
    assert torch.equal(split["data"], images[labels == 7]) and split["sha256"] != "x"
    assert (split["domain_task"], split["domain"], split["split"]) == ("sneaker-boot", "a", "test")
