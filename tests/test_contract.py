"""Contract v2: what the loop, the base class and the task registry give every variant.

Small variants defined here (never registered in the package) stand in for the later models:
one that grows (ProGAN's shape), one with an EMA generator and truncation (BigGAN's), a coupled
pair (CoGAN's) and a translator (CycleGAN's). Each fits without a change to the loop or sampler.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Optional

import pytest
import torch
from torch import nn

from gans.models import MODELS, GANVariant, build_model
from gans.models.base import EMA_SUFFIX
from gans.nn.ema import ema_copy, ema_update_
from gans.quantize import quantize_to_uint8
from gans.sampling import generate_samples, latent_bank_seed, save_samples
from gans.spec import Batch, DataSpec, EvalInput, Progress
from gans.tasks import TASKS, label_bank
from gans.train import TrainSettings, load_trained, run_identity, train

IMAGE = DataSpec("synthetic", channels=1, resolution=16, num_classes=4)


class TinyGenerator(nn.Module):
    def __init__(self, z_dim: int, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = shape
        self.fc = nn.Linear(z_dim, int(torch.tensor(shape).prod()))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.fc(z)).view(-1, *self.shape)


class TinyDiscriminator(nn.Module):
    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.conv = nn.Conv2d(shape[0], 2, 3, padding=1)
        self.out = nn.Linear(2 * shape[1] * shape[2], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.conv(x)).flatten(1)).view(-1)


class Tiny(GANVariant):
    """A least-squares GAN in a few lines: the smallest variant the contract accepts."""

    defaults = {"z_dim": 4, "lr": 1e-3, "ema_decay": None, "ema_start": 0}
    supports_truncation = True

    def build(self) -> None:
        adam = lambda params: torch.optim.Adam(params, lr=self.config["lr"])  # noqa: E731
        self.add_network("G", TinyGenerator(self.config["z_dim"], self.spec.sample_shape), adam)
        self.add_network("D", TinyDiscriminator(self.spec.sample_shape), adam)

    def train_step(self, batch: Batch, progress: Progress) -> dict[str, float]:
        fake = self.G(self.draw_latent(len(batch)))
        self.opt_D.zero_grad()
        loss_D = 0.5 * ((self.D(batch.x) - 1) ** 2).mean() + 0.5 * (self.D(fake.detach()) ** 2).mean()
        loss_D.backward()
        self.opt_D.step()
        self.opt_G.zero_grad()
        loss_G = 0.5 * ((self.D(fake) - 1) ** 2).mean()
        loss_G.backward()
        self.opt_G.step()
        return {"loss_D": loss_D.item(), "loss_G": loss_G.item()}

    def sample_latent(self, n: int, generator: torch.Generator,
                      truncation: Optional[float] = None) -> torch.Tensor:
        z = super().sample_latent(n, generator)
        return z if truncation is None else z.clamp(-truncation, truncation)


class Growing(Tiny):
    """Doubles its generator's width at a step of the schedule (read from the progress record),
    as ProGAN adds blocks; the stage travels in extra_state and is restored before weights."""

    defaults = {**Tiny.defaults, "grow_at": 3}

    def build(self) -> None:
        self.stage = 0
        super().build()

    def grow(self) -> None:
        self.stage = 1
        G = TinyGenerator(self.config["z_dim"] * 2, self.spec.sample_shape)
        self.add_network("G", G, lambda params: torch.optim.Adam(params, lr=self.config["lr"]))
        self.networks_changed()

    def draw_latent(self, n: int) -> torch.Tensor:
        z = super().draw_latent(n)
        return torch.cat([z, z], 1) if self.stage else z

    def sample_latent(self, n, generator, truncation=None):
        z = super().sample_latent(n, generator, truncation)
        return torch.cat([z, z], 1) if self.stage else z

    def train_step(self, batch: Batch, progress: Progress) -> dict[str, float]:
        if progress.step == self.config["grow_at"] and self.stage == 0:
            self.grow()
        return super().train_step(batch, progress)

    def extra_state(self) -> dict[str, Any]:
        return {"stage": self.stage}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        if state["stage"] and not self.stage:
            self.grow()


class Coupled(Tiny):
    """Two generators from one latent (CoGAN's evaluation shape)."""

    task = "coupled"

    def generate(self, inputs: EvalInput, truncation: Optional[float] = None) -> dict[str, torch.Tensor]:
        image = self.evaluation_network("G")(inputs.z)
        return {"a": image, "b": -image}


class Translator(Tiny):
    """Maps source images to the other domain and back, both ways (CycleGAN's evaluation shape)."""

    task = "translation"

    def generate(self, inputs: EvalInput, truncation: Optional[float] = None) -> dict[str, torch.Tensor]:
        return {"translated": -inputs.source, "reconstructed": inputs.source,
                "reverse_translated": -inputs.source_b, "reverse_reconstructed": inputs.source_b}


@pytest.fixture
def registered():
    """Register the test variants for one test, and take them out again."""
    names = {"tiny": Tiny, "growing": Growing, "coupled": Coupled, "translator": Translator}
    for name, cls in names.items():
        MODELS.register(name)(cls)
    yield names
    for name in names:
        MODELS._entries.pop(name)


def settings(data: Path, out: Path, **kw) -> TrainSettings:
    base = dict(model="tiny", data=str(data), out_dir=str(out / "run"), checkpoint_dir=str(out / "ckpt"),
                seed=3, steps=6, batch_size=8, checkpoint_every=2, log_every=100)
    base.update(kw)
    return TrainSettings(**base)


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    final = torch.load(run_dir / "final.pt", weights_only=False)
    return {f"{n}.{k}": v for n, sd in final["networks"].items() for k, v in sd.items()}


# --------------------------------------------------------------------------- the loop owns progress
def test_the_loop_counts_steps_and_images_and_hands_them_to_the_variant(registered, tiny_data, tmp_path,
                                                                       monkeypatch) -> None:
    seen: list[Progress] = []
    step = Tiny.train_step
    monkeypatch.setattr(Tiny, "train_step", lambda self, b, p: seen.append(p) or step(self, b, p))
    record = train(settings(tiny_data, tmp_path))
    assert [p.step for p in seen] == list(range(6))
    assert [p.images_seen for p in seen] == [8 * i for i in range(6)]
    assert {(p.total_steps, p.batch_size, p.images_total) for p in seen} == {(6, 8, 48)}
    assert record["steps_done"] == 6 and record["images_seen"] == 48


def test_a_growing_variant_resumes_after_growth_bit_identically(registered, tiny_data, tmp_path) -> None:
    train(settings(tiny_data, tmp_path / "whole", model="growing"))
    # the same run stopped at step 4 (checkpoint at 4 holds the grown stage), then continued
    train(settings(tiny_data, tmp_path / "cut", model="growing", steps=5))
    train(settings(tiny_data, tmp_path / "cut", model="growing"))
    whole, cut = weights(tmp_path / "whole" / "run"), weights(tmp_path / "cut" / "run")
    assert whole["G.fc.weight"].shape[1] == 8  # it grew
    assert whole.keys() == cut.keys() and all(torch.equal(whole[k], cut[k]) for k in whole)
    grown = load_trained(tmp_path / "whole" / "run")
    assert grown.stage == 1 and grown.G.fc.weight.shape[1] == 8


def test_placement_is_applied_to_networks_added_after_growth(registered) -> None:
    model = build_model("growing", IMAGE)
    placed: list[nn.Module] = []
    model.place(lambda net: placed.append(net) or net)
    model.grow()
    assert model.G in placed and model.D in placed


# --------------------------------------------------------------------------- identity
def test_identity_hashes_the_resolved_config_and_the_budget_only_when_used(registered, tiny_data,
                                                                           tmp_path) -> None:
    plain = build_model("tiny", IMAGE)
    explicit = build_model("tiny", IMAGE, {"lr": 1e-3})  # the default, written out
    a, b = settings(tiny_data, tmp_path), settings(tiny_data, tmp_path, model_config={"lr": 1e-3})
    assert run_identity(a, plain, "x") == run_identity(b, explicit, "x")
    longer = settings(tiny_data, tmp_path, steps=60)
    assert run_identity(a, plain, "x") == run_identity(longer, plain, "x")
    Tiny.uses_budget = True
    try:
        assert run_identity(a, plain, "x") != run_identity(longer, plain, "x")
    finally:
        Tiny.uses_budget = False


# --------------------------------------------------------------------------- config
def test_config_layers_and_type_errors(registered) -> None:
    from gans.models.cgan import CGAN
    from gans.models.gan import GAN

    points = GAN.resolve_config({}, "points")
    assert points["optimizer"] == "adam" and points["z_dim"] == 2  # kind defaults
    assert GAN.resolve_config({"z_dim": 5}, "points")["z_dim"] == 5  # overrides win
    assert CGAN.resolve_config({"backbone": "mlp"})["optimizer"] == "sgd"  # choice defaults
    assert CGAN.resolve_config({"backbone": "mlp", "lr": 0.5})["lr"] == 0.5
    with pytest.raises(ValueError, match="backbone must be one of"):
        CGAN.resolve_config({"backbone": "resnet"})
    with pytest.raises(ValueError, match="'ngf' of DCGAN must be a int"):
        MODELS.get("dcgan").resolve_config({"ngf": "eight"})
    with pytest.raises(ValueError, match="'ngf'"):
        MODELS.get("dcgan").resolve_config({"ngf": 8.5})
    assert MODELS.get("dcgan").resolve_config({"lr": 1})["lr"] == 1  # an int where a float is fine
    with pytest.raises(ValueError, match="simultaneous_updates"):
        GAN.resolve_config({"simultaneous_updates": 1})


class Regularised(Tiny):
    """A variant with a technique of its own that a suite may switch off (BigGAN's orthogonal term)."""

    defaults = {**Tiny.defaults, "penalty": 1.0}

    @classmethod
    def deviations(cls, config: Mapping[str, Any]) -> list[str]:
        return ["penalty off"] if config["penalty"] == 0 else []


def test_a_config_that_departs_from_the_method_is_flagged_in_the_report(registered) -> None:
    from gans.report.index import deviation_lines

    MODELS.register("regularised")(Regularised)
    try:
        assert Tiny.deviations(Tiny.resolve_config({})) == []  # none by default
        suite = {"models": ["tiny", "regularised"], "model_config": {"regularised": {"penalty": 0.0}}}
        assert deviation_lines(suite) == [
            "FLAGGED, the suite's config departs from the method: regularised: penalty off."]
        assert deviation_lines({**suite, "model_config": {}}) == []
    finally:
        MODELS._entries.pop("regularised")


# --------------------------------------------------------------------------- EMA
def test_ema_update_formula_and_buffers() -> None:
    net = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    average = ema_copy(net)
    assert not any(p.requires_grad for p in average.parameters())
    old = [p.clone() for p in average.parameters()]
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
        net[1].running_mean.fill_(5.0)
    ema_update_(average, net, 0.9999)
    for before, avg, new in zip(old, average.parameters(), net.parameters()):
        assert torch.allclose(avg, 0.9999 * before + 0.0001 * new, atol=0, rtol=1e-6)
    assert torch.equal(average[1].running_mean, net[1].running_mean)


def test_the_loop_keeps_an_ema_generator_that_evaluation_uses(registered, tiny_data, tmp_path) -> None:
    config = {"ema_decay": 0.5, "ema_start": 2}
    train(settings(tiny_data, tmp_path, model_config=config))
    final = weights(tmp_path / "run")
    assert "G" + EMA_SUFFIX + ".fc.weight" in final
    assert not torch.equal(final["G_ema.fc.weight"], final["G.fc.weight"])
    model = load_trained(tmp_path / "run")
    assert model.evaluation_network("G") is model.nets["G_ema"]
    assert model.checkpoint_rule.startswith("EMA")
    samples = generate_samples(tmp_path / "run", 8, "t", 0)
    assert samples["checkpoint_rule"].startswith("EMA")
    z = model.sample_latent(8, torch.Generator().manual_seed(latent_bank_seed("t", 0)))
    with torch.no_grad():
        expected = quantize_to_uint8(model.nets["G_ema"](z))
    assert torch.equal(samples["data"], expected)


def test_ema_before_its_start_step_copies_the_generator(registered) -> None:
    model = build_model("tiny", IMAGE, {"ema_decay": 0.9, "ema_start": 5})
    with torch.no_grad():
        model.G.fc.weight.add_(1.0)
    model.update_ema(Progress(step=3))
    assert torch.equal(model.G_ema.fc.weight, model.G.fc.weight)
    before = model.G_ema.fc.weight.clone()
    with torch.no_grad():
        model.G.fc.weight.add_(1.0)
    model.update_ema(Progress(step=6))
    assert torch.allclose(model.G_ema.fc.weight, 0.9 * before + 0.1 * model.G.fc.weight)


# --------------------------------------------------------------------------- tasks and truncation
def test_task_registry_fields() -> None:
    assert set(TASKS.names()) >= {"unconditional", "conditional", "coupled", "translation"}
    assert TASKS.get("conditional").conditional and not TASKS.get("unconditional").conditional
    assert TASKS.get("translation").uses_source and not TASKS.get("translation").uses_latents
    plan = TASKS.get("conditional").plan(7, IMAGE)
    assert torch.equal(plan.labels, label_bank(7, 4))
    with pytest.raises(ValueError, match="source images"):
        TASKS.get("translation").plan(4, IMAGE)
    with pytest.raises(ValueError, match="domain-B images"):
        TASKS.get("translation").plan(4, IMAGE, torch.zeros(6, 1, 16, 16))


def test_two_domain_tasks_say_what_their_images_are() -> None:
    inputs = {"source": "a", "source_b": "b"}
    for name in TASKS.names():
        task = TASKS.get(name)
        if not task.two_domain:
            assert not (task.output_domains or task.pairs or task.cycles)
            continue
        assert set(task.output_domains) == set(task.outputs)
        domain = {**inputs, **task.output_domains}
        assert all((domain[x], domain[y]) == ("a", "b") for x, y in task.pairs)
        assert all(domain[x] == domain[y] and x in inputs for x, y in task.cycles)
    assert TASKS.get("translation").output_domains["translated"] == "b"


def test_a_two_way_translation_plan_cuts_both_domains_to_the_shorter() -> None:
    translation = TASKS.get("translation")
    a, b = torch.zeros(5, 1, 16, 16), torch.ones(3, 1, 16, 16)
    plan = translation.plan(10, IMAGE, a, b)
    assert len(plan.source) == len(plan.source_b) == translation.size(10, plan) == 3
    assert torch.equal(plan.part(1, 2).source_b, b[1:2])
    drawn = translation.draw(None, plan, 3, torch.Generator())  # no latents: the model is not asked
    assert drawn.source_b is plan.source_b and drawn.z is None
    with pytest.raises(ValueError, match="task must be one of"):
        DataSpec("x", 1, 8, 2, task="nonsense")


def run_and_sample(model: str, data: Path, out: Path, **sample_kw) -> dict:
    extra = {"domain_task": "negative"} if TASKS.get(MODELS.get(model).task).two_domain else {}
    train(settings(data, out, model=model, steps=2, **extra))
    return generate_samples(out / "run", 10, "t", 0, **sample_kw)


def test_coupled_samples_keep_both_outputs(registered, tiny_data, tmp_path) -> None:
    record = run_and_sample("coupled", tiny_data, tmp_path)
    assert record["task"] == "coupled" and record["primary_output"] == "a"
    assert record["data"].shape == (10, 1, 16, 16) and set(record["outputs"]) == {"b"}
    # b is the negative of a, up to the rounding of the one quantization rule
    assert (record["outputs"]["b"].int() - (255 - record["data"].int())).abs().max() <= 1


def test_translation_samples_come_from_held_out_source_images(registered, tiny_data, tmp_path) -> None:
    from conftest import make_prepared

    test_split = make_prepared(tmp_path / "test.pt", n=12, seed=9)
    record = run_and_sample("translator", tiny_data, tmp_path, source_data=test_split)
    source = torch.load(test_split, weights_only=False)["data"]
    assert record["task"] == "translation" and record["latent_bank_seed"] is None
    assert torch.equal(record["outputs"]["reconstructed"], source[:10])  # uint8 round trip
    # the reverse direction starts from the held-out domain-B images (negatives of the test split)
    assert torch.equal(record["outputs"]["reverse_reconstructed"], 255 - source[:10])
    with pytest.raises(ValueError, match="test split"):
        generate_samples(tmp_path / "run", 10, "t", 0)


def test_truncation_reaches_the_model_and_is_recorded(registered, tiny_data, tmp_path) -> None:
    train(settings(tiny_data, tmp_path, steps=2))
    plain = generate_samples(tmp_path / "run", 10, "t", 0)
    cut = generate_samples(tmp_path / "run", 10, "t", 0, truncation=0.01)
    assert plain["truncation"] is None and cut["truncation"] == 0.01
    assert not torch.equal(plain["data"], cut["data"])
    assert (cut["data"].float().std(0).mean() < plain["data"].float().std(0).mean())
    save_samples(cut, tmp_path / "s.pt")
    assert torch.load(tmp_path / "s.pt", weights_only=False)["truncation"] == 0.01


def test_models_without_truncation_refuse_it(tiny_data, tmp_path) -> None:
    model = build_model("dcgan", IMAGE, {"ngf": 4, "ndf": 4})
    with pytest.raises(ValueError, match="no truncated sampling"):
        model.sample_latent(3, torch.Generator(), truncation=0.5)


def test_two_domain_models_need_a_domain_task(registered, tiny_data, tmp_path) -> None:
    with pytest.raises(ValueError, match="name a domain task"):
        train(settings(tiny_data, tmp_path, model="coupled"))
    with pytest.raises(ValueError, match="does not apply"):
        train(settings(tiny_data, tmp_path, domain_task="negative"))


def test_status_records_task_and_domain_task(registered, tiny_data, tmp_path) -> None:
    train(settings(tiny_data, tmp_path, model="coupled", steps=1, domain_task="negative"))
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["task"] == "coupled" and status["domain_task"] == "negative"
