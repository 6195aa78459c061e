"""scripts/toy_probe.py: the scaled mixtures it trains on, the numbers one probe measures (on
closed forms), and a short probed run end to end, reproducible from its seed."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from gans.data.toy import TOY_MIXTURES, sample_toy
from gans.metrics.toy import toy_protocol
from gans.models import build_model
from gans.spec import DataSpec

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "toy_probe.py"
PACGAN = REPO / "benchmarks" / "toy-pacgan.yaml"
RING = DataSpec("ring-8-unit", channels=2, resolution=0, num_classes=8, kind="points")
SMALL = {"points_g_hidden": 8, "points_d_hidden": 8}


@pytest.fixture(scope="module")
def probe_script():
    spec = importlib.util.spec_from_file_location("toy_probe", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["toy_probe"] = module
    spec.loader.exec_module(module)
    return module


class Constant(nn.Module):
    """A generator that ignores its noise and cycles through fixed points."""

    def __init__(self, points: torch.Tensor) -> None:
        super().__init__()
        self.points = points

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.points.repeat(len(z) // len(self.points) + 1, 1)[:len(z)]


def test_a_scaled_mixture_scales_means_sigma_and_points_alike(probe_script) -> None:
    mixture, points = probe_script.scaled_mixture("ring-8-unit", 5.0)
    ring = TOY_MIXTURES["ring-8-unit"]
    assert torch.equal(mixture.modes, ring.modes * 5) and mixture.sigma == pytest.approx(0.05)
    unscaled, _ = sample_toy("ring-8-unit", "train")
    def in_sigmas(x: torch.Tensor, modes: torch.Tensor, sigma: float) -> torch.Tensor:
        return torch.cdist(x.double(), modes.double()).min(1).values / sigma

    assert torch.allclose(in_sigmas(points, mixture.modes, mixture.sigma),
                          in_sigmas(unscaled, ring.modes, ring.sigma), atol=1e-3)


def test_overrides_are_read_as_numbers_where_they_are_numbers(probe_script) -> None:
    assert probe_script.parse_overrides(["gp_weight=2", "lr=1e-5", "points_init=torch"]) == {
        "gp_weight": 2, "lr": 1e-5, "points_init": "torch"}
    with pytest.raises(SystemExit, match="key=value"):
        probe_script.parse_overrides(["gp_weight"])


def test_a_generator_on_the_modes_scores_every_mode_and_a_linear_critic_its_closed_form(
        probe_script) -> None:
    """G on the 8 means: 8 modes, all high quality, distance 0, no drift between two probes;
    a critic D(x) = w . x with |w| = 1: gradient norm 1 everywhere, estimate w . (mean real -
    mean fake)."""
    model = build_model("wgan-gp", RING, SMALL)
    mixture = TOY_MIXTURES["ring-8-unit"]
    model.G = Constant(mixture.modes)
    critic = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[0.6, 0.8]]))
    model.D = lambda x: critic(x).view(-1)
    bank = torch.zeros(2500, 2)
    real = mixture.modes[:1] + torch.tensor([[1.0, 0.0]])   # every real point at (2, 0)
    row, points = probe_script.probe(model, bank, mixture, toy_protocol("pacgan"), real, None)
    scores = (row["modes_covered"], row["high_quality_share"], row["median_distance_sigmas"])
    assert scores == (8, 1, 0)
    assert row["drift_sigmas"] is None
    assert row["grad_norm_real"] == pytest.approx(1) and row["grad_norm_fake"] == pytest.approx(1)
    fake_mean = points[:1].mean(0)                           # the probe's fakes: the first mode
    assert row["wasserstein_estimate"] == pytest.approx(0.6 * (2.0 - float(fake_mean[0]))
                                                        + 0.8 * (0.0 - float(fake_mean[1])))
    again, _ = probe_script.probe(model, bank, mixture, toy_protocol("pacgan"), real, points)
    assert again["drift_sigmas"] == 0


def test_a_probed_run_reports_every_probe_and_reruns_to_the_same_numbers(probe_script) -> None:
    def run(scale: float) -> list[dict]:
        out = io.StringIO()
        rows = probe_script.run_probe(PACGAN, "wgan-gp", "ring-8-unit", seed=3, steps=3, every=2,
                                      scale=scale, overrides=SMALL, out=out)
        assert [json.loads(line)["step"] for line in out.getvalue().splitlines()] == [0, 2, 3]
        return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]

    rows = run(1.0)
    assert rows[0]["drift_sigmas"] is None and rows[1]["drift_sigmas"] > 0
    assert {"wasserstein_estimate", "grad_norm_real", "grad_norm_fake"} <= rows[-1].keys()
    assert run(1.0) == rows
    assert run(5.0) != rows


def test_a_gan_probe_has_no_critic_numbers_and_bad_names_are_refused(probe_script) -> None:
    rows = probe_script.run_probe(PACGAN, "gan", "ring-8-unit", steps=1, every=1,
                                  overrides=SMALL, out=io.StringIO())
    assert len(rows) == 2 and "wasserstein_estimate" not in rows[-1]
    with pytest.raises(SystemExit, match="not a toy dataset"):
        probe_script.run_probe(PACGAN, "gan", "fashion-mnist", steps=1, out=io.StringIO())
    with pytest.raises(SystemExit, match="not a model"):
        probe_script.run_probe(PACGAN, "dcgan", "ring-8-unit", steps=1, out=io.StringIO())
