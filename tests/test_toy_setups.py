"""The toy protocols' suites: the published setups' networks and optimizers built from a suite's
config, the protocol a suite names checked at load, the evaluation scored under it, and our
results set beside the published numbers of the same protocol."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import torch
from torch import nn

from gans.cli import main
from gans.data import prepare_split
from gans.models import build_model
from gans.nn.mlp import Maxout
from gans.report import toy_published
from gans.spec import Batch, DataSpec, Progress
from gans.suite import SuiteError, check_suite, load_suite, model_config_for, toy_protocol_for

REPO = Path(__file__).resolve().parent.parent
POINTS = DataSpec("grid-25", channels=2, resolution=0, num_classes=25, kind="points")


def suite(name: str) -> dict:
    return load_suite(REPO / "benchmarks" / f"{name}.yaml")


def layers(network: nn.Module) -> list[str]:
    """The network's modules in order, as short names with their shapes."""
    out = []
    for m in network.modules():
        if isinstance(m, Maxout):
            out.append(f"maxout{m.linear.in_features}>{m.units}x{m.pieces}")
        elif isinstance(m, nn.Linear) and not any(m is mx.linear for mx in network.modules()
                                                   if isinstance(mx, Maxout)):
            out.append(f"linear{m.in_features}>{m.out_features}" + ("" if m.bias is not None else "-nobias"))
        elif isinstance(m, nn.BatchNorm1d):
            out.append(f"bn{m.num_features}")
        elif isinstance(m, (nn.ReLU, nn.Tanh)):
            out.append(type(m).__name__.lower())
    return out


@pytest.mark.parametrize("model", ["gan", "wgan", "wgan-gp"])
def test_the_pacgan_suite_builds_pacgans_networks_for_every_model(model):
    built = build_model(model, POINTS, model_config_for(suite("toy-pacgan"), model))
    assert layers(built.G) == (["linear2>400-nobias", "bn400", "relu"]
                               + ["linear400>400-nobias", "bn400", "relu"] * 3 + ["linear400>2"])
    assert layers(built.D) == ["maxout2>200x5", "maxout200>200x5", "maxout200>200x5", "linear200>1"]
    assert all(m.momentum == 0.05 for m in built.G.modules() if isinstance(m, nn.BatchNorm1d))
    assert built.config["z_dim"] == 2 and built.prior == "normal"
    assert built.G[3].weight.std().item() == pytest.approx(0.02, rel=0.05)  # N(0, 0.02) init


@pytest.mark.parametrize("model", ["gan", "wgan", "wgan-gp"])
def test_the_veegan_suite_builds_gdpps_networks_for_every_model(model):
    built = build_model(model, POINTS, model_config_for(suite("toy-veegan"), model))
    assert layers(built.G) == ["linear256>128", "tanh", "linear128>128", "tanh", "linear128>2"]
    assert layers(built.D) == ["linear2>128", "tanh", "linear128>128", "tanh", "linear128>1"]
    w = built.G[2].weight.detach()  # square: orthogonal with gain 1.4 means W W^T = 1.96 I
    assert torch.allclose(w @ w.T, 1.96 * torch.eye(128), atol=1e-4)
    assert built.config["z_dim"] == 256 and built.prior == "normal"


def test_each_model_keeps_its_own_optimizer_in_the_toy_suites():
    for name in ("toy-veegan", "toy-pacgan"):
        configs = {m: model_config_for(suite(name), m) for m in ("gan", "wgan", "wgan-gp")}
        gan, wgan, wgan_gp = (build_model(m, POINTS, c) for m, c in configs.items())
        assert isinstance(wgan.opt_D, torch.optim.RMSprop) and wgan.opt_D.param_groups[0]["lr"] == 5e-5
        assert wgan.config["clip"] == 0.01 and wgan.config["n_critic"] == wgan_gp.config["n_critic"] == 5
        assert isinstance(wgan_gp.opt_D, torch.optim.Adam)
        assert wgan_gp.opt_D.param_groups[0]["betas"] == (0.5, 0.9) and wgan_gp.config["lr"] == 1e-4
        assert isinstance(gan.opt_D, torch.optim.Adam) and gan.config["simultaneous_updates"]
    gdpp = build_model("gan", POINTS, model_config_for(suite("toy-veegan"), "gan"))
    gdpp.train_step(Batch(torch.randn(8, 2)), Progress(step=10))  # the schedule keeps D's own lr
    assert gdpp.opt_G.param_groups[0]["lr"] == pytest.approx(1e-3)
    assert gdpp.opt_D.param_groups[0]["lr"] == pytest.approx(1e-4)
    assert gdpp.opt_D.param_groups[0]["betas"][0] == 0.5
    pacgan = build_model("gan", POINTS, model_config_for(suite("toy-pacgan"), "gan"))
    assert pacgan.opt_G.param_groups[0]["betas"][0] == 0.8
    assert pacgan.opt_D.param_groups[0]["lr"] == pacgan.opt_G.param_groups[0]["lr"] == 1e-4


def test_the_gans_noise_follows_its_prior_setting():
    torch.manual_seed(0)
    uniform = build_model("gan", POINTS).draw_latent(4000)
    normal = build_model("gan", POINTS, {"latent_prior": "normal"}).draw_latent(4000)
    assert uniform.abs().max() <= 1 and normal.abs().max() > 2
    with pytest.raises(ValueError, match="latent_prior must be one of"):
        build_model("gan", POINTS, {"latent_prior": "cauchy"})


def test_a_toy_network_setting_must_be_a_known_choice():
    with pytest.raises(ValueError, match="points_d_activation must be one of"):
        build_model("wgan-gp", POINTS, {"points_d_activation": "swish"})
    assert build_model("wgan", POINTS, {"points_d_norm": "layer"}).D.main[1].__class__ is nn.LayerNorm


def test_batch_norm_in_a_wgan_gp_toy_critic_is_flagged():
    from gans.report.roadmap import config_deviations

    assert config_deviations("wgan-gp", {"points_d_norm": "batch"}) == [
        "batch norm in the toy critic (points_d_norm: batch)"]
    assert config_deviations("wgan-gp", model_config_for(suite("toy-pacgan"), "wgan-gp")) == []


def test_a_suite_names_a_known_protocol_and_generates_its_sample_count():
    veegan = suite("toy-veegan")
    assert toy_protocol_for(veegan) == "veegan" and toy_protocol_for(suite("toy-pacgan")) == "pacgan"
    assert toy_protocol_for(suite("toy-2d")) == "toy-2d"  # unnamed: the earlier rule
    with pytest.raises(SuiteError, match="evaluation.toy_protocol: unknown protocol 'gdpp'"):
        check_suite(veegan | {"evaluation": veegan["evaluation"] | {"toy_protocol": "gdpp"}})
    with pytest.raises(SuiteError, match="evaluation.n_generated: the veegan protocol scores 2500 samples, got 10000"):
        check_suite(veegan | {"evaluation": veegan["evaluation"] | {"n_generated": 10000}})
    smoke = suite("smoke")
    with pytest.raises(SuiteError, match="evaluation.toy_protocol: scores toy 2-D data; this suite has none"):
        check_suite(smoke | {"evaluation": smoke["evaluation"] | {"toy_protocol": "veegan"}})


def _samples(points: torch.Tensor) -> dict:
    return {"data": points, "labels": None, "kind": "points", "status": "completed", "model": "gan",
            "dataset": "grid-25", "seed": 0, "suite": "unit", "step": 5, "checkpoint_rule": "final step"}


def test_evaluate_scores_under_the_named_protocol(tmp_path):
    grid = prepare_split("grid-25", "train", tmp_path / "train.pt", tmp_path)
    direction = torch.tensor([0.6, 0.8])
    boundary = grid["modes"][:2] + 3 * 0.05 * direction  # within float error of 3 sigma
    points = torch.cat([grid["modes"][2:12].repeat(250, 1)[:2490], boundary.repeat(5, 1)])
    torch.save(_samples(points), tmp_path / "s.pt")
    records = {}
    for protocol in ("veegan", "pacgan"):
        out = tmp_path / f"{protocol}.json"
        assert main(["evaluate", "--samples", str(tmp_path / "s.pt"), "--real", str(tmp_path / "train.pt"),
                     "--extractor", "toy", "--toy-protocol", protocol, "--out", str(out)]) == 0
        records[protocol] = json.loads(out.read_text())
    for protocol, record in records.items():
        assert record["protocol"]["toy_protocol"] == protocol
        assert record["protocol"]["toy_rule"].startswith(f"{protocol} protocol")
        assert 10 <= record["metrics"]["modes_covered"] <= 12
    torch.save(_samples(points[:100]), tmp_path / "few.pt")
    with pytest.raises(SystemExit, match="the pacgan protocol scores 2500 samples, got 100"):
        main(["evaluate", "--samples", str(tmp_path / "few.pt"), "--real", str(tmp_path / "train.pt"),
              "--extractor", "toy", "--toy-protocol", "pacgan", "--out", str(tmp_path / "x.json")])


def test_the_published_numbers_are_data_with_their_sources():
    rows = toy_published.load_published()
    pacgan_gan = [r for r in rows if r.protocol == "pacgan" and r.model == "GAN"]
    assert {(r.dataset, r.values["modes"], r.values["hq"]) for r in pacgan_gan} == {
        ("ring-8-unit", (6.3, 0.5), (98.2, 0.2)), ("grid-25", (17.3, 0.8), (94.8, 0.7))}
    veegan_gan = [r for r in rows if r.protocol == "veegan" and r.model == "GAN"]
    assert {(r.dataset, r.values["modes"][0]) for r in veegan_gan} == {("ring-8-unit", 1), ("grid-25", 3.3)}
    assert all(r.source and r.setup and r.iterations and r.runs for r in rows)
    assert {r.ours for r in rows} <= {None, "gan", "wgan-gp"}


def store_of(values: dict[str, list[float]], dataset: str = "grid-25") -> pd.DataFrame:
    rows = [{"dataset": dataset, "extractor": "toy", "model": model, "seed": seed, "metric": metric,
             "value": value * (1 if metric == "modes_covered" else 0.01)}
            for model, per_seed in values.items() for seed, value in enumerate(per_seed)
            for metric in ("modes_covered", "high_quality_share")]
    return pd.DataFrame(rows)


def test_the_comparison_table_gives_mean_and_standard_error_beside_the_published_rows(tmp_path):
    veegan = suite("toy-veegan")
    store = store_of({"gan": [2, 4, 6], "wgan": [0, 0, 0], "wgan-gp": [20, 22, 24], "real": [25, 25, 25]})
    table = toy_published.comparison_table(veegan, store, "grid-25").text
    gan = table[table["Method"] == "gan"].iloc[0]
    assert gan["Modes captured"] == "4.0 ± 1.2"  # s.e. = 2 / sqrt(3)
    assert gan["HQ (%)"] == "4.0 ± 1.2" and gan["Runs"] == "3" and gan["Iterations"] == "25000"
    assert table[table["Method"] == "wgan"].iloc[0]["Modes captured"] == "0"
    assert list(table["Source"]).count("VEEGAN (Srivastava et al. 2017), Table 1") == 4
    gdpp = table[table["Source"] == "GDPP (Elfeki et al. 2019)"].iloc[0]
    assert (gdpp["Method"], gdpp["Modes captured"], gdpp["HQ (%)"]) == ("WGAN-GP", "24.2", "28.7")
    assert not (table["Source"].str.startswith("PacGAN")).any()  # another protocol
    pacgan = toy_published.comparison_table(suite("toy-pacgan"), store, "grid-25").text
    assert pacgan[pacgan["Method"] == "GAN"].iloc[0]["Modes captured"] == "17.3 ± 0.8"  # as printed
    paths = toy_published.plot_comparison(veegan, store, "grid-25", tmp_path / "fig")
    assert [p.suffix for p in paths] == [".png", ".svg"] and all(p.stat().st_size > 0 for p in paths)


def test_standard_error_is_the_sample_deviation_over_root_n():
    from gans.report.stats import mean_standard_error

    error = mean_standard_error([1.0, 2.0, 3.0, 6.0, None, float("nan")])
    assert error.n == 4 and error.mean == 3.0
    assert error.se == pytest.approx(math.sqrt(14 / 3) / 2)
    assert mean_standard_error([5.0]).se is None and mean_standard_error([]).mean is None
