"""The domain classifier: shapes, its torch-fidelity registration, `train-classifier` on a small
synthetic pattern set (accuracy, bit-reproducibility, the accuracy floor), and its parts against
their stated forms: the architecture of each version, the recipe's validation, the learning-rate
schedules, the augmentations, the loss it records for an epoch, the dead-unit count."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY
from torch_fidelity.utils import create_feature_extractor

from gans.cli import main
from gans.metrics.classifier import (ARCHITECTURE_V1, ARCHITECTURE_V2, RECIPES, ClassifierArchitecture,
                                     DomainClassifier, TrainedClassifier, TrainingRecipe, _schedule,
                                     dead_units, flipped, load_checked_classifier, load_classifier,
                                     recipe_field_error, shifted, train_classifier)
from gans.metrics.extractors import ClassifierFeatureExtractor
from gans.metrics.synthetic import pattern_images, prepared_split
from gans.metrics.weights import file_sha256, tensors_sha256
from gans.seeding import seed_everything


@pytest.fixture(scope="module")
def pattern_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("patterns")
    for split, n, seed in (("train", 800, 0), ("test", 200, 1)):
        torch.save(prepared_split(*pattern_images(n, seed=seed), split), root / f"{split}.pt")
    return root / "train.pt", root / "test.pt"


def train_cli(files: tuple[Path, Path], out_dir: Path, seed: int = 0, *extra: str) -> list[str]:
    return ["train-classifier", "--train", str(files[0]), "--test", str(files[1]), "--seed", str(seed),
            "--out", str(out_dir / "cls.pt"), "--info", str(out_dir / "cls.json"), "--epochs", "2", *extra]


@pytest.fixture(scope="module")
def trained(pattern_files, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cls-a")
    assert main(train_cli(pattern_files, out)) == 0
    return out


def test_features_and_logits_shapes():
    model = DomainClassifier(ClassifierArchitecture(channels=3, resolution=64, num_classes=7))
    features, logits = model.eval().features_and_logits(torch.rand(5, 3, 64, 64) * 2 - 1)
    assert features.shape == (5, 128) and logits.shape == (5, 7)
    assert (features >= 0).all()  # after ReLU


def test_registered_in_torch_fidelity_and_returns_features_in_requested_order(trained):
    assert FEATURE_EXTRACTORS_REGISTRY["classifier"] is ClassifierFeatureExtractor
    images = pattern_images(6, seed=3)[0]
    for layers in (["penultimate", "logits"], ["logits", "penultimate"]):
        extractor = create_feature_extractor("classifier", layers, cuda=False,
                                             feature_extractor_weights_path=str(trained / "cls.pt"))
        out = dict(zip(layers, extractor(images)))
        assert out["penultimate"].shape == (6, 128) and out["logits"].shape == (6, 10)
    with pytest.raises(ValueError):
        extractor(images.float())  # uint8 only, like torch-fidelity's own extractors


def test_training_reaches_high_accuracy_and_records_it(trained):
    info = json.loads((trained / "cls.json").read_text())
    assert info["test_accuracy"] >= 0.95
    assert info["sha256"] == tensors_sha256(trained / "cls.pt")
    assert {"dataset", "seed", "epochs", "architecture", "timing"} <= set(info)
    assert set(info["timing"]) == {"train_s"}
    model, record = load_classifier(trained / "cls.pt")
    assert record["test_accuracy"] == info["test_accuracy"]
    images, labels = pattern_images(200, seed=1)  # the test split: re-measure with the saved model
    with torch.no_grad():
        predicted = model(images.float() / 127.5 - 1).argmax(1)
    assert (predicted == labels).double().mean().item() == pytest.approx(info["test_accuracy"])


def test_training_is_bit_reproducible(pattern_files, trained, tmp_path):
    again, other_seed = tmp_path / "again", tmp_path / "seed1"
    assert main(train_cli(pattern_files, again)) == 0
    assert main(train_cli(pattern_files, other_seed, 1)) == 0
    assert (again / "cls.pt").read_bytes() == (trained / "cls.pt").read_bytes()
    assert json.loads((again / "cls.json").read_text())["sha256"] == \
        json.loads((trained / "cls.json").read_text())["sha256"]
    assert file_sha256(other_seed / "cls.pt") != file_sha256(trained / "cls.pt")


def test_accuracy_below_the_floor_fails_loudly_and_writes_nothing(pattern_files, tmp_path):
    with pytest.raises(SystemExit, match="below --min-accuracy"):
        main(train_cli(pattern_files, tmp_path, 0, "--epochs", "1", "--min-accuracy", "1.01"))
    assert list(tmp_path.iterdir()) == []


def test_the_recorded_hash_is_of_the_weights_not_of_the_file(tmp_path: Path) -> None:
    """torch.save's archive holds the file's own name: the same weights under two names must get
    the same hash, and other weights another one."""
    record = {"state_dict": {"w": torch.arange(4.0)}, "architecture": {}, "dataset": "x"}
    torch.save(record, tmp_path / "a.pt")
    torch.save(record, tmp_path / "renamed.pt")
    assert file_sha256(tmp_path / "a.pt") != file_sha256(tmp_path / "renamed.pt")
    assert tensors_sha256(tmp_path / "a.pt") == tensors_sha256(tmp_path / "renamed.pt")
    record["state_dict"]["w"][0] = 9.0
    torch.save(record, tmp_path / "other.pt")
    assert tensors_sha256(tmp_path / "other.pt") != tensors_sha256(tmp_path / "a.pt")


def test_v2_is_the_default_and_v1_still_trains_and_loads(pattern_files, trained, tmp_path):
    """v2 (the default) takes its features before the hidden non-linearity; v1, the first recipe,
    still trains with --recipe v1 and loads for older results."""
    model, record = load_classifier(trained / "cls.pt")
    assert record["architecture"]["name"] == "domain-cnn-v2" and record["recipe"]["augment"] == "shift"
    features = model.features_and_logits(pattern_images(50, seed=4)[0].float() / 127.5 - 1)[0]
    assert (features < 0).any() and bool((features.var(0) > 0).all())  # not a ReLU's output
    info = json.loads((trained / "cls.json").read_text())
    assert info["dead_feature_units"] == 0 and info["recipe"]["name"] == "v2"
    assert set(info["trained_with"]) == {"torch", "cpu_capability"}
    assert set(info) == {"dataset", "test_accuracy", "sha256", "tensors_sha256", "seed", "epochs", "architecture",
                         "feature_layer", "feature_dim", "dead_feature_units", "recipe", "threads",
                         "epoch_losses", "train_data_sha256", "test_data_sha256", "trained_with", "timing"}
    assert (info["dataset"], info["seed"], info["epochs"], info["threads"], info["feature_dim"]) == (
        "patterns", 0, 2, 1, 128)
    assert info["sha256"] == info["tensors_sha256"] == tensors_sha256(trained / "cls.pt")
    assert main(train_cli(pattern_files, tmp_path, 0, "--recipe", "v1")) == 0
    v1, v1_record = load_classifier(tmp_path / "cls.pt")
    assert v1_record["architecture"]["name"] == "domain-cnn-v1" and v1.hidden_norm is None
    assert (v1.features_and_logits(pattern_images(50, seed=4)[0].float() / 127.5 - 1)[0] >= 0).all()


def test_unknown_recipes_and_fields_are_refused(pattern_files, tmp_path):
    with pytest.raises(SystemExit, match="unknown classifier recipe 'v9'"):
        main(train_cli(pattern_files, tmp_path, 0, "--recipe", "v9"))
    with pytest.raises(SystemExit, match="recipe field optimizer: not a recipe field"):
        main(train_cli(pattern_files, tmp_path, 0, "--set", "optimizer=sgd"))
    assert list(tmp_path.iterdir()) == []


def test_recipe_overrides_are_honoured_and_recorded(pattern_files, tmp_path):
    """What the train_classifier rule passes for a suite's evaluation.classifier overrides."""
    assert main(train_cli(pattern_files, tmp_path, 0, "--set", "augment=none", "--set", "lr=0.002",
                          "--set", "min_accuracy=0.5")) == 0
    recipe = json.loads((tmp_path / "cls.json").read_text())["recipe"]
    assert (recipe["augment"], recipe["lr"], recipe["min_accuracy"], recipe["epochs"]) == ("none", 0.002, 0.5, 2)


def test_each_version_has_its_widths_and_feature_layer() -> None:
    v1 = ClassifierArchitecture.for_data(1, 32, 10, ARCHITECTURE_V1)
    v2 = ClassifierArchitecture.for_data(3, 32, 7)
    assert (v1.widths, v1.channels, v1.resolution, v1.num_classes) == ((16, 32, 64), 1, 32, 10)
    assert (v2.name, v2.widths, v2.channels, v2.num_classes) == (ARCHITECTURE_V2, (32, 64, 128), 3, 7)
    assert v1.feature_layer == "hidden layer, 128 units after ReLU"
    assert v2.feature_layer == "hidden layer, 128 units after batch norm, before the LeakyReLU"
    assert ClassifierArchitecture.from_dict({**v2.__dict__, "widths": [32, 64, 128]}) == v2


def test_the_network_is_strided_conv_blocks_a_hidden_layer_and_a_head() -> None:
    model = DomainClassifier(ClassifierArchitecture.for_data(1, 32, 10, ARCHITECTURE_V2))
    convs = [m for m in model.conv if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride, c.padding) for c in convs] == [
        (1, 32, (5, 5), (2, 2), (2, 2)), (32, 64, (3, 3), (2, 2), (1, 1)), (64, 128, (3, 3), (2, 2), (1, 1))]
    assert all(c.bias is None for c in convs)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.conv) == 3
    assert model.hidden.in_features == 128 * 16 and model.hidden.bias is None  # v2: the norm's shift
    assert model.hidden_norm.num_features == 128 and model.head.out_features == 10
    v1 = DomainClassifier(ClassifierArchitecture.for_data(1, 32, 10, ARCHITECTURE_V1))
    assert v1.hidden.bias is not None and v1.hidden_norm is None
    with pytest.raises(ValueError, match="unknown classifier architecture"):
        DomainClassifier(ClassifierArchitecture(1, 32, 10, name="domain-cnn-v3"))


def test_v2_features_come_before_a_leaky_relu_of_slope_0_2_and_v1_after_a_relu() -> None:
    torch.manual_seed(0)
    x = torch.rand(6, 1, 32, 32) * 2 - 1
    v2 = DomainClassifier(ClassifierArchitecture.for_data(1, 32, 10, ARCHITECTURE_V2)).eval()
    features, logits = v2.features_and_logits(x)
    assert (features < 0).any()
    assert torch.allclose(logits, v2.head(F.leaky_relu(features, 0.2)), atol=1e-6)
    assert torch.equal(v2(x), logits)
    v1 = DomainClassifier(ClassifierArchitecture.for_data(1, 32, 10, ARCHITECTURE_V1)).eval()
    features, logits = v1.features_and_logits(x)
    hidden = v1.hidden(v1.conv(x).flatten(1))
    assert torch.equal(features, F.relu(hidden)) and torch.allclose(logits, v1.head(features))


@pytest.mark.parametrize("name, good, bad", [
    ("epochs", [1, 8], [0, 1.5, True, "3"]),
    ("batch_size", [1, 128], [0, -4, 2.0, False]),
    ("shift", [0, 2], [-1, 1.0, True]),
    ("lr", [1e-9, 3], [0, -1e-3, True, "0.1"]),
    ("warmup", [0, 0.0, 0.5, 0.999], [1, 1.0, -0.01, True, None]),
    ("weight_decay", [0, 5e-4], [-1e-6, True, "0"]),
    ("min_accuracy", [0, 0.9, 1.5], [-0.1, True, None]),
    ("schedule", ["linear", "one-cycle"], ["cosine", "Linear", None]),
    ("augment", ["none", "shift", "flip", "flip-shift"], ["shift-flip", "NONE", None]),
])
def test_each_recipe_field_takes_its_values_and_refuses_others(name, good, bad) -> None:
    for value in good:
        assert recipe_field_error(name, value) is None, (name, value)
    for value in bad:
        error = recipe_field_error(name, value)
        assert error is not None and error.startswith("must be ") and error.endswith(f"got {value!r}"), (
            name, value, error)


def test_the_refusals_say_what_a_field_takes() -> None:
    assert recipe_field_error("epochs", 0) == "must be a positive integer, got 0"
    assert recipe_field_error("warmup", 1) == "must be a number in [0, 1), got 1"
    assert recipe_field_error("augment", "x") == "must be none or shift or flip or flip-shift, got 'x'"
    assert recipe_field_error("schedule", "cosine") == "must be linear or one-cycle, got 'cosine'"
    assert recipe_field_error("batch_size", 0) == "must be a positive integer, got 0"
    assert recipe_field_error("shift", -1) == "must be an integer >= 0, got -1"
    assert recipe_field_error("lr", 0) == "must be a positive number, got 0"
    assert recipe_field_error("weight_decay", -1) == "must be a number >= 0, got -1"
    assert recipe_field_error("min_accuracy", -1) == "must be a number >= 0, got -1"
    assert recipe_field_error("architecture", "v2") == (
        "not a recipe field (known: epochs, batch_size, shift, lr, warmup, weight_decay, min_accuracy, "
        "schedule, augment)")


def test_a_recipe_overridden_changes_only_the_named_fields() -> None:
    v2 = RECIPES.get("v2")
    changed = v2.overridden({"epochs": 2, "lr": 0.5})
    assert (changed.epochs, changed.lr, changed.batch_size, changed.augment) == (2, 0.5, 128, "shift")
    assert v2.overridden({}) == v2 and v2.epochs == 8
    with pytest.raises(ValueError, match="recipe field epochs: must be a positive integer"):
        v2.overridden({"lr": 0.1, "epochs": 0})


def test_the_linear_schedule_falls_from_one_to_zero() -> None:
    factor = _schedule(TrainingRecipe(ARCHITECTURE_V1, epochs=1, batch_size=1, lr=1.0), total_steps=40)
    assert [factor(s) for s in (0, 10, 20, 40)] == [1.0, 0.75, 0.5, 0.0]


def test_the_one_cycle_schedule_warms_up_from_a_tenth_then_follows_a_cosine() -> None:
    recipe = TrainingRecipe(ARCHITECTURE_V2, epochs=1, batch_size=1, lr=1.0, schedule="one-cycle",
                            warmup=0.25)
    factor = _schedule(recipe, total_steps=100)  # 25 warm-up steps
    assert factor(0) == pytest.approx(0.1)
    assert factor(10) == pytest.approx(0.1 + 0.9 * 10 / 25)
    assert factor(25) == pytest.approx(1.0)
    assert factor(25 + 75 / 3) == pytest.approx(0.5 * (1 + math.cos(math.pi / 3)))
    assert factor(100) == pytest.approx(0.0, abs=1e-12)
    # a warm-up shorter than one step still takes one step; rounding, not truncation
    short = TrainingRecipe(ARCHITECTURE_V2, 1, 1, 1.0, schedule="one-cycle", warmup=0.001)
    assert _schedule(short, 100)(0) == pytest.approx(0.1) and _schedule(short, 100)(1) == pytest.approx(1.0)
    assert _schedule(TrainingRecipe(ARCHITECTURE_V2, 1, 1, 1.0, schedule="one-cycle", warmup=0.3), 5)(2) == (
        pytest.approx(1.0))  # round(1.5) = 2 warm-up steps
    with pytest.raises(ValueError, match="unknown learning-rate schedule"):
        _schedule(TrainingRecipe(ARCHITECTURE_V2, 1, 1, 1.0, schedule="cosine"), 10)


def dots(n: int) -> torch.Tensor:
    """n x 2 x 5 x 5 images at 0 with one bright pixel (1.0) at the centre of each channel."""
    images = torch.zeros(n, 2, 5, 5)
    images[:, :, 2, 2] = 1.0
    return images


def test_shifts_move_each_image_by_at_most_shift_pixels_and_fill_with_black() -> None:
    out = shifted(dots(400), 1, torch.Generator().manual_seed(0))
    assert out.shape == (400, 2, 5, 5)
    seen = set()
    for image in out:
        bright = (image == 1.0).nonzero().tolist()
        assert len(bright) == 2 and bright[0][1:] == bright[1][1:]  # both channels moved alike
        row, col = bright[0][1:]
        assert abs(row - 2) <= 1 and abs(col - 2) <= 1
        seen.add((row, col))
        filled = image == -1.0  # the border the image moved away from
        assert int(filled.sum()) == 2 * (5 * (row != 2) + 5 * (col != 2) - (row != 2) * (col != 2))
    assert len(seen) == 9  # every offset in [-1, 1]^2 occurs
    again = shifted(dots(400), 1, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    # it draws exactly one (dy, dx) per image from the generator, so the augmentations after it in
    # the classifier's training stream (and so the frozen evaluator's weights) stay as recorded
    used, reference = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    shifted(dots(10), 1, used)
    torch.randint(0, 3, (2, 10), generator=reference)
    assert torch.equal(used.get_state(), reference.get_state())


def test_a_two_pixel_shift_reaches_two_pixels_and_no_shift_is_the_identity() -> None:
    out = shifted(dots(300), 2, torch.Generator().manual_seed(1))
    positions = {tuple((image[0] == 1.0).nonzero()[0].tolist()) for image in out}
    assert {p for p in positions if 0 in p or 4 in p} and all(0 <= r <= 4 and 0 <= c <= 4 for r, c in positions)
    images = dots(3)
    assert shifted(images, 0, torch.Generator()) is images


def test_flips_mirror_about_half_of_the_images_left_right() -> None:
    images = torch.arange(500 * 4, dtype=torch.float32).view(500, 1, 1, 4)
    out = flipped(images, torch.Generator().manual_seed(0))
    mirrored = torch.tensor([torch.equal(o, i.flip(-1)) for o, i in zip(out, images)])
    kept = torch.tensor([torch.equal(o, i) for o, i in zip(out, images)])
    assert torch.all(mirrored ^ kept)
    assert 200 < int(mirrored.sum()) < 300
    assert torch.equal(out, flipped(images, torch.Generator().manual_seed(0)))


def test_dead_units_count_the_constant_feature_dimensions() -> None:
    features = torch.randn(50, 6)
    features[:, 1] = 0.0
    features[:, 4] = 3.5
    assert dead_units(features) == 2
    assert dead_units(torch.randn(50, 6)) == 0


def tiny_splits(n: int = 64) -> tuple[dict, dict]:
    return prepared_split(*pattern_images(n, seed=0), "train"), prepared_split(*pattern_images(40, seed=1), "test")


def test_the_recorded_epoch_loss_is_the_mean_cross_entropy_of_the_epoch() -> None:
    """One batch per epoch: the loss recorded for epoch 1 is the loss of the initial network on the
    whole (unaugmented) train set."""
    train, test = tiny_splits()
    recipe = RECIPES.get("v1").overridden({"epochs": 1, "batch_size": 64})
    started = time.perf_counter()
    trained = train_classifier(train, test, seed=3, recipe=recipe)
    assert 0.0 < trained.train_seconds <= time.perf_counter() - started
    seed_everything(3)
    initial = DomainClassifier(ClassifierArchitecture.for_data(1, 32, 10, ARCHITECTURE_V1)).train()
    expected = F.cross_entropy(initial(train["data"].float() / 127.5 - 1), train["labels"]).item()
    assert trained.epoch_losses == [pytest.approx(expected, rel=1e-5)]
    assert (trained.epochs, trained.seed, trained.dataset, trained.recipe) == (1, 3, "patterns", recipe)
    assert not trained.model.training and 0.0 <= trained.test_accuracy <= 1.0


def test_the_epoch_loss_weighs_batches_by_their_size() -> None:
    """Two batches of 48 and 16: the epoch's loss is their sample-weighted mean, which a plain
    mean of the two batch losses would miss."""
    train, test = tiny_splits()
    recipe = RECIPES.get("v1").overridden({"epochs": 2, "batch_size": 48, "lr": 1e-12})
    trained = train_classifier(train, test, seed=0, recipe=recipe)
    assert len(trained.epoch_losses) == 2  # lr ~ 0: the first batch's step hardly moves the network
    seed_everything(0)
    initial = DomainClassifier(ClassifierArchitecture.for_data(1, 32, 10, ARCHITECTURE_V1)).train()
    order = torch.randperm(64, generator=torch.Generator().manual_seed(0))
    x, y = train["data"][order].float() / 127.5 - 1, train["labels"][order]
    losses = [F.cross_entropy(initial(x[s:s + 48]), y[s:s + 48]).item() for s in (0, 48)]
    assert trained.epoch_losses[0] == pytest.approx((48 * losses[0] + 16 * losses[1]) / 64, rel=1e-4)


def test_training_refuses_point_data_and_unknown_augmentations() -> None:
    train, test = tiny_splits()
    with pytest.raises(ValueError, match="needs image data"):
        train_classifier({**train, "kind": "points"}, test)
    bad = TrainingRecipe(ARCHITECTURE_V1, epochs=1, batch_size=64, lr=1e-3, augment="rotate")
    with pytest.raises(ValueError, match="unknown augmentation 'rotate'"):
        train_classifier(train, test, recipe=bad)


def test_weight_decay_trains_with_adamw_and_the_record_names_the_recipe(monkeypatch) -> None:
    train, test = tiny_splits()
    made = []
    for optimizer in ("Adam", "AdamW"):
        original = getattr(torch.optim, optimizer)
        monkeypatch.setattr(torch.optim, optimizer,
                            lambda *a, _o=original, _n=optimizer, **k: made.append((_n, k)) or _o(*a, **k))
    recipe = RECIPES.get("v1").overridden({"epochs": 1, "batch_size": 64})
    record = train_classifier(train, test, recipe=recipe).record()
    train_classifier(train, test, recipe=recipe.overridden({"weight_decay": 0.01}))
    assert made == [("Adam", {"lr": 3e-3}), ("AdamW", {"lr": 3e-3, "weight_decay": 0.01})]
    assert record["recipe"]["lr"] == 3e-3 and record["epochs"] == 1 and record["seed"] == 0
    assert set(record) == {"state_dict", "architecture", "dataset", "seed", "epochs", "test_accuracy", "recipe"}
    bare = TrainedClassifier(DomainClassifier(ClassifierArchitecture(1, 32, 10)), "d", 0, 1, 0.5, 1.0)
    assert "recipe" not in bare.record()


def test_a_file_that_is_not_a_classifier_is_refused(tmp_path) -> None:
    torch.save({"state_dict": {}}, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="not a domain classifier"):
        load_checked_classifier(tmp_path / "x.pt")
    torch.save([1, 2], tmp_path / "y.pt")
    with pytest.raises(ValueError, match="not a domain classifier"):
        load_checked_classifier(tmp_path / "y.pt")


def test_pattern_images_are_one_bright_bar_per_class_on_a_dark_background() -> None:
    images, labels = pattern_images(200, num_classes=6, resolution=16, channels=2, seed=4)
    assert images.dtype == torch.uint8 and images.shape == (200, 2, 16, 16) and labels.dtype == torch.int64
    assert labels.bincount().tolist() == [34, 34, 33, 33, 33, 33]  # as even as 200 / 6 allows
    spacing = 16 // 4  # 3 classes per orientation
    for image, label in zip(images, labels):
        c = int(label)
        bright = image[0] == 230
        assert torch.equal(bright, image[1] == 230)  # the bar is in every channel
        assert int(image[0][~bright].max()) < 60
        rows, cols = bright.any(1).nonzero().view(-1), bright.any(0).nonzero().view(-1)
        lines = rows if c < 3 else cols  # classes 0-2 horizontal bars, 3-5 vertical
        assert len(lines) == 3 and int(lines[1] - lines[0]) == 1 and int(lines[2] - lines[1]) == 1
        assert abs(int(lines[0]) - (spacing * (c % 3 + 1) - 1)) <= 1  # jittered by at most one pixel
        assert len(cols if c < 3 else rows) == 16  # the bar crosses the whole image
    again, _ = pattern_images(200, num_classes=6, resolution=16, channels=2, seed=4)
    assert torch.equal(images, again) and not torch.equal(images, pattern_images(200, 6, 16, 2, seed=5)[0])


def test_a_prepared_pattern_split_has_the_prepared_file_format() -> None:
    images, labels = pattern_images(30, num_classes=4, seed=1)
    split = prepared_split(images, labels, "test")
    assert (split["dataset"], split["split"], split["kind"], split["resolution"], split["num_classes"]) == (
        "patterns", "test", "image", 32, 4)
    assert split["data"] is images and split["labels"] is labels
    from gans.data import content_sha256

    assert split["sha256"] == content_sha256(images, labels)
    assert prepared_split(images, labels, "train", dataset="d", num_classes=10)["num_classes"] == 10


def test_the_extractor_names_its_layer_for_each_torch_fidelity_metric() -> None:
    layer = ClassifierFeatureExtractor.get_default_feature_layer_for_metric
    assert [layer(m) for m in ("isc", "fid", "kid", "prc")] == ["logits", "penultimate", "penultimate",
                                                                "penultimate"]
    assert ClassifierFeatureExtractor.get_provided_features_list() == ("penultimate", "logits")
    assert ClassifierFeatureExtractor.can_be_compiled() is False
    dummy = ClassifierFeatureExtractor.get_dummy_input_for_compile()
    assert dummy.dtype == torch.uint8 and dummy.shape == (1, 1, 32, 32)


def test_the_classifier_extractor_registers_itself_once(monkeypatch) -> None:
    from gans.metrics.extractors import register_with_torch_fidelity

    monkeypatch.delitem(FEATURE_EXTRACTORS_REGISTRY, "classifier")
    register_with_torch_fidelity()
    assert FEATURE_EXTRACTORS_REGISTRY["classifier"] is ClassifierFeatureExtractor
    register_with_torch_fidelity()  # a second call is a no-op, not torch-fidelity's refusal


def test_freeze_writes_a_card_that_loads_as_the_frozen_evaluator(pattern_files, trained, tmp_path, capsys):
    """`--freeze NAME` is how the shipped evaluator was made: the weights record its name, the
    card beside them says what it is (and names the hash tensors_sha256 only), and the card
    loads back as a frozen evaluator whose hash checks."""
    from gans.metrics.evaluators import CARD_KIND, card_path, checked_evaluator, read_card

    weights = tmp_path / "frozen-v9.pt"
    argv = ["train-classifier", "--train", str(pattern_files[0]), "--test", str(pattern_files[1]),
            "--seed", "0", "--epochs", "2", "--out", str(weights), "--freeze", "patterns-v9"]
    with pytest.raises(SystemExit, match="the card must be"):  # a card elsewhere could be lost
        main(argv + ["--info", str(tmp_path / "elsewhere.json")])
    assert list(tmp_path.iterdir()) == []
    capsys.readouterr()
    assert main(argv + ["--info", str(card_path(weights))]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any("epoch 2/2" in line for line in lines)  # the training's own progress is shown ...
    assert all(line.startswith("[train-classifier] ") for line in lines)  # ... under the command's name

    card = read_card(weights)
    assert card is not None and card["kind"] == CARD_KIND
    assert (card["name"], card["version"], card["weights_file"]) == ("patterns-v9", "domain-cnn-v2",
                                                                      "frozen-v9.pt")
    assert "sha256" not in card and card["tensors_sha256"] == tensors_sha256(weights)
    assert set(card["timing"]) == {"train_s"}
    # the same seed and recipe as the unfrozen `trained`: the same weights, only named
    assert card["tensors_sha256"] == json.loads((trained / "cls.json").read_text())["sha256"]
    record = torch.load(weights, weights_only=True)
    assert record["evaluator"] == "patterns-v9"
    assert checked_evaluator(weights, record, tensors_sha256(weights)) == card


def test_an_accuracy_exactly_at_the_floor_passes(pattern_files, trained, tmp_path):
    """The floor is a minimum: a classifier that reaches it exactly is accepted."""
    accuracy = json.loads((trained / "cls.json").read_text())["test_accuracy"]
    assert main(train_cli(pattern_files, tmp_path, 0, "--min-accuracy", repr(accuracy))) == 0
    assert json.loads((tmp_path / "cls.json").read_text())["test_accuracy"] == accuracy


def test_pattern_backgrounds_use_the_whole_dark_range_and_bars_every_jitter() -> None:
    """The background is uniform on 0..59 (black included), a bar's offset from its nominal row or
    column is each of -1, 0 and +1, and the seed defaults to 0."""
    images, labels = pattern_images(300, seed=0)
    background = images[images != 230]
    assert int(background.min()) == 0 and int(background.max()) == 59
    spacing = 32 // 6  # 5 classes per orientation
    offsets = set()
    for image, label in zip(images, labels):
        c, bright = int(label), image[0] == 230
        lines = (bright.any(1) if c < 5 else bright.any(0)).nonzero().view(-1)
        offsets.add(int(lines[0]) - (spacing * (c % 5 + 1) - 1))
    assert offsets == {-1, 0, 1}
    assert torch.equal(pattern_images(300)[0], images)


def test_one_image_has_features_and_the_extractor_is_frozen_in_eval_mode(trained) -> None:
    from gans.metrics.extractors import ExtractorOptions, extract_features, resolve

    extractor, weights = resolve("classifier", ExtractorOptions(classifier=str(trained / "cls.pt")))
    out = extract_features(extractor, weights, pattern_images(1, seed=9)[0])
    assert out["features"].shape == (1, 128) and out["logits"].shape == (1, 10)
    with pytest.raises(ValueError, match="no images"):
        extract_features(extractor, weights, pattern_images(1, seed=9)[0][:0])
    module = ClassifierFeatureExtractor("classifier", ["penultimate"],
                                        feature_extractor_weights_path=str(trained / "cls.pt"))
    assert not any(p.requires_grad for p in module.parameters()) and not module.training


def test_a_recipe_by_name_with_keyword_overrides_sets_the_training_and_its_record() -> None:
    """train_classifier(recipe="v1", epochs=, batch_size=, lr=): the named recipe with those three
    fields replaced; the architecture is sized from the data (16 px here)."""
    train = prepared_split(*pattern_images(48, resolution=16, seed=0), "train")
    test = prepared_split(*pattern_images(20, resolution=16, seed=1), "test")
    trained = train_classifier(train, test, seed=0, recipe="v1", epochs=1, batch_size=24, lr=3e-3)
    assert trained.recipe == RECIPES.get("v1").overridden({"epochs": 1, "batch_size": 24, "lr": 3e-3})
    assert (trained.model.arch.resolution, trained.model.arch.channels, trained.epochs) == (16, 1, 1)
    assert len(trained.epoch_losses) == 1


def test_the_schedule_spans_every_step_of_every_epoch(monkeypatch) -> None:
    """64 images in batches of 48 are 2 steps an epoch (the last batch partial): 2 epochs, 4 steps."""
    from gans.metrics import classifier as classifier_module

    spans = []
    real_schedule = classifier_module._schedule
    monkeypatch.setattr(classifier_module, "_schedule",
                        lambda recipe, total_steps: spans.append(total_steps) or real_schedule(recipe, total_steps))
    train, test = tiny_splits()
    train_classifier(train, test, recipe=RECIPES.get("v1").overridden({"epochs": 2, "batch_size": 48}))
    assert spans == [4] and isinstance(spans[0], int)


@pytest.mark.parametrize("augment, shift, flips", [("none", 0, False), ("shift", 2, False),
                                                   ("flip", 0, True), ("flip-shift", 2, True)])
def test_the_augmentation_named_by_the_recipe_is_the_one_applied(monkeypatch, augment, shift, flips) -> None:
    from gans.metrics import classifier as classifier_module

    shifts, flipped_batches = [], []
    def fake_shift(images, s, g):  # both draw from the seeded order generator
        assert isinstance(g, torch.Generator)
        return shifts.append(s) or images

    def fake_flip(images, g):
        assert isinstance(g, torch.Generator)
        return flipped_batches.append(len(images)) or images

    monkeypatch.setattr(classifier_module, "shifted", fake_shift)
    monkeypatch.setattr(classifier_module, "flipped", fake_flip)
    train, test = tiny_splits()
    recipe = RECIPES.get("v1").overridden({"epochs": 1, "batch_size": 32, "augment": augment, "shift": 2})
    train_classifier(train, test, recipe=recipe)
    assert shifts == [shift, shift]  # one call per batch, with the recipe's shift or none
    assert flipped_batches == ([32, 32] if flips else [])


def test_features_of_float_images_in_minus_one_one_equal_those_of_their_uint8_form(trained) -> None:
    from gans.metrics.classifier import features_of
    from gans.quantize import uint8_to_float

    model, _ = load_classifier(trained / "cls.pt")
    images = pattern_images(8, seed=6)[0]
    assert torch.equal(features_of(model, uint8_to_float(images)), features_of(model, images))
    assert torch.equal(features_of(model, uint8_to_float(images).double()), features_of(model, images))
