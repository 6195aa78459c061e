"""What every one of the first five variants owes the contract: registration, a finite train step,
samples of the right shape and range, and a state_dict that resumes a run bit for bit."""

from __future__ import annotations

import io
import math

import pytest
import torch

from gans.models import MODELS, build_model
from gans.spec import Batch, DataSpec, EvalInput, Progress
from gans.tasks import TASKS

# Small widths: the contract does not depend on them, and the tests stay fast.
SMALL = {
    "gan": {"z_dim": 8, "g_hidden": 32, "d_units": 16, "d_pieces": 3, "points_hidden": 16},
    "cgan": {"z_dim": 8, "ngf": 4, "ndf": 4, "gfc": 16, "dfc": 16},
    "dcgan": {"z_dim": 8, "ngf": 4, "ndf": 4},
    "wgan": {"z_dim": 8, "ngf": 4, "ndf": 4, "points_hidden": 16, "critic_warmup_iters": 0},
    "wgan-gp": {"z_dim": 8, "ngf": 4, "ndf": 4, "points_hidden": 16},
}
IMAGE = DataSpec("synthetic", channels=1, resolution=16, num_classes=4)
POINTS = DataSpec("ring-8", channels=2, resolution=0, num_classes=8, kind="points")
POINT_MODELS = ["gan", "wgan", "wgan-gp"]
YEARS = {"gan": 2014, "cgan": 2014, "dcgan": 2015, "wgan": 2017, "wgan-gp": 2017}


def make(name: str, spec: DataSpec = IMAGE, **overrides) -> "object":
    return build_model(name, spec, {**SMALL[name], **overrides})


def batch_for(model, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    n = 8 * model.batches_per_step(Progress())
    x = torch.rand(n, *model.spec.sample_shape, generator=g) * 2 - 1
    return Batch(x, torch.randint(model.spec.num_classes, (n,), generator=g))


def samples(model, n: int, seed: int, labels=None) -> torch.Tensor:
    """n samples of the model's primary output from latents drawn with a seeded generator."""
    z = model.sample_latent(n, torch.Generator().manual_seed(seed))
    return model.sample(EvalInput(z=z, labels=labels))[TASKS.get(model.task).primary]


def through_a_file(state: dict) -> dict:
    """A state as a checkpoint gives it back: serialised, so no tensor is shared with the model."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=False)


def all_tensors(model) -> dict[str, torch.Tensor]:
    return {f"{net}.{k}": v.clone() for net, m in model.networks().items()
            for k, v in m.state_dict().items()}


@pytest.mark.parametrize("name", sorted(YEARS))
def test_registered_with_roadmap_metadata(name: str) -> None:
    cls = MODELS.get(name)
    assert cls.year == YEARS[name]
    assert cls.paper and isinstance(cls.protocol_notes, str) and len(cls.protocol_notes) > 20
    assert cls.task == ("conditional" if name == "cgan" else "unconditional")


@pytest.mark.parametrize("name", sorted(YEARS))
def test_one_train_step_returns_finite_floats(name: str) -> None:
    torch.manual_seed(0)
    model = make(name)
    losses = model.train_step(batch_for(model), Progress())
    assert {"loss_D", "loss_G"} <= set(losses)
    assert all(type(v) is float and math.isfinite(v) for v in losses.values()), losses


@pytest.mark.parametrize("name", sorted(YEARS))
def test_samples_are_images_in_range_and_follow_the_latent_generator(name: str) -> None:
    torch.manual_seed(0)
    model = make(name)
    labels = torch.arange(6) % 4 if model.spec.task == "conditional" else None
    a, b, c = samples(model, 6, 3, labels), samples(model, 6, 3, labels), samples(model, 6, 4, labels)
    assert a.shape == (6, 1, 16, 16) and a.dtype == torch.float32
    assert a.min() >= -1 and a.max() <= 1
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("name", sorted(YEARS))
def test_state_dict_round_trip_resumes_identically(name: str) -> None:
    torch.manual_seed(0)
    trained = make(name)
    for step in range(2):
        trained.train_step(batch_for(trained, step), Progress(step=step))
    state = through_a_file(trained.state_dict())

    torch.manual_seed(123)  # a fresh instance with other weights
    resumed = make(name)
    resumed.load_state_dict(state)

    batch = batch_for(trained, 5)
    torch.manual_seed(77)
    expected = trained.train_step(batch, Progress(step=2))
    torch.manual_seed(77)
    got = resumed.train_step(batch, Progress(step=2))
    assert got == expected
    after_a, after_b = all_tensors(trained), all_tensors(resumed)
    assert all(torch.equal(after_a[k], after_b[k]) for k in after_a)
    # the optimizer state travelled too (momentum / Adam / RMSprop buffers)
    for opt_name, opt in trained.optimizers().items():
        assert opt.state_dict()["state"], f"{name}: optimizer {opt_name} has no state to check"


@pytest.mark.parametrize("name", POINT_MODELS)
def test_toy_points_get_an_mlp_with_unbounded_2d_output(name: str) -> None:
    torch.manual_seed(0)
    model = make(name, POINTS)
    for net in model.networks().values():
        assert not any(isinstance(m, torch.nn.Conv2d) for m in net.modules())
    last = [m for m in model.G.modules() if not isinstance(m, torch.nn.Sequential)][-1]
    assert isinstance(last, torch.nn.Linear)  # no squashing: points live outside [-1, 1]
    losses = model.train_step(batch_for(model), Progress())
    assert all(math.isfinite(v) for v in losses.values())
    points = samples(model, 10, 0)
    assert points.shape == (10, 2)


@pytest.mark.parametrize("name", ["cgan", "dcgan"])
def test_image_only_models_refuse_points(name: str) -> None:
    with pytest.raises(ValueError, match="does not train on points"):
        make(name, POINTS)


@pytest.mark.parametrize("name", sorted(YEARS))
def test_unknown_config_key_is_an_error(name: str) -> None:
    with pytest.raises(ValueError, match="unknown config key"):
        build_model(name, IMAGE, {"not_a_key": 1})
