"""What every one of the first five variants owes the contract: registration, a finite train step,
samples of the right shape and range, and a state_dict that resumes a run bit for bit."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest
import torch
import yaml

from gans.models import MODELS, build_model
from gans.spec import Batch, DataSpec, Progress
from gans.report.roadmap import ROADMAP_YEARS
from gans.tasks import TASKS

# Every registered model, at the small widths the smoke suite gives it: a new model gets these
# tests by being registered and listed in benchmarks/smoke.yaml.
SMOKE = yaml.safe_load((Path(__file__).resolve().parent.parent / "benchmarks" / "smoke.yaml").read_text())
NAMES = MODELS.names()
SMALL = {name: SMOKE.get("model_config", {}).get(name, {}) for name in NAMES}
IMAGE = DataSpec("synthetic", channels=1, resolution=16, num_classes=4)
POINTS = DataSpec("ring-8", channels=2, resolution=0, num_classes=8, kind="points")
POINT_MODELS = [name for name in NAMES if "points" in MODELS.get(name).data_kinds]
IMAGE_ONLY = [name for name in NAMES if "points" not in MODELS.get(name).data_kinds]


def make(name: str, spec: DataSpec = IMAGE, **overrides) -> "object":
    return build_model(name, spec, {**SMALL[name], **overrides})


def batch_for(model, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    n = 8 * model.batches_per_step(Progress())
    x = torch.rand(n, *model.spec.sample_shape, generator=g) * 2 - 1
    x_b = torch.rand(n, *model.spec.sample_shape, generator=g) * 2 - 1  # two-domain models' domain B
    return Batch(x, torch.randint(model.spec.num_classes, (n,), generator=g), x_b)


def samples(model, n: int, seed: int) -> dict[str, torch.Tensor]:
    """n evaluation outputs of the model, inputs planned by its task (labels, source images) and
    latents drawn with a generator seeded by `seed`, as the sampler does."""
    task = TASKS.get(model.task)
    g = torch.Generator().manual_seed(99)
    source = torch.rand(n, *model.spec.sample_shape, generator=g) * 2 - 1
    source_b = torch.rand(n, *model.spec.sample_shape, generator=g) * 2 - 1
    plan = task.plan(n, model.spec, source if task.uses_source else None,
                     source_b if task.uses_source_b else None)
    inputs = task.draw(model, plan, n, torch.Generator().manual_seed(seed))
    return model.sample(inputs)


def through_a_file(state: dict) -> dict:
    """A state as a checkpoint gives it back: serialised, so no tensor is shared with the model."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=False)


def all_tensors(model) -> dict[str, torch.Tensor]:
    return {f"{net}.{k}": v.clone() for net, m in model.networks().items()
            for k, v in m.state_dict().items()}


def test_every_roadmap_model_so_far_is_registered_and_in_the_smoke_suite() -> None:
    assert {"gan", "cgan", "dcgan", "wgan", "wgan-gp"} <= set(NAMES)
    assert set(NAMES) <= set(SMOKE["models"]), "every registered model runs in the smoke suite"


@pytest.mark.parametrize("name", NAMES)
def test_registered_with_roadmap_metadata(name: str) -> None:
    cls = MODELS.get(name)
    assert cls.citation is not None and cls.year == cls.citation.year and str(cls.year) in cls.paper
    assert cls.year == ROADMAP_YEARS.get(name, cls.year)
    assert isinstance(cls.protocol_notes, str) and len(cls.protocol_notes) > 20
    assert cls.task in TASKS


@pytest.mark.parametrize("name", NAMES)
def test_one_train_step_returns_finite_floats(name: str) -> None:
    torch.manual_seed(0)
    model = make(name)
    losses = model.train_step(batch_for(model), Progress())
    assert {"loss_D", "loss_G"} <= set(losses)
    assert all(type(v) is float and math.isfinite(v) for v in losses.values()), losses


@pytest.mark.parametrize("name", NAMES)
def test_samples_are_the_tasks_outputs_in_range_and_follow_the_latent_generator(name: str) -> None:
    torch.manual_seed(0)
    model = make(name)
    task = TASKS.get(model.task)
    a, b, c = samples(model, 6, 3), samples(model, 6, 3), samples(model, 6, 4)
    assert set(a) == set(task.outputs)
    for output in task.outputs:
        assert a[output].shape == (6, 1, 16, 16) and a[output].dtype == torch.float32
        assert a[output].min() >= -1 and a[output].max() <= 1
        assert torch.equal(a[output], b[output])
        assert not task.uses_latents or not torch.equal(a[output], c[output])


@pytest.mark.parametrize("name", NAMES)
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
    points = samples(model, 10, 0)[TASKS.get(model.task).primary]
    assert points.shape == (10, 2)


@pytest.mark.parametrize("name", IMAGE_ONLY)
def test_image_only_models_refuse_points(name: str) -> None:
    with pytest.raises(ValueError, match="does not train on points"):
        make(name, POINTS)


@pytest.mark.parametrize("name", NAMES)
def test_unknown_config_key_is_an_error(name: str) -> None:
    with pytest.raises(ValueError, match="unknown config key"):
        build_model(name, IMAGE, {"not_a_key": 1})
