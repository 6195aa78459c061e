"""Portable mode: the settings, the CPU check, and a short run whose hashes are committed.

The committed hashes were made on an AMD EPYC (torch capability AVX512) in portable mode. Any
x86-64 machine with AVX2 must give the same bits: a failure here on another machine means some
kernel still depends on the CPU (see gans/portable.py), not that the test is flaky.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from conftest import make_prepared
from gans.io import content_digest, load_torch
from gans.models import MODELS, build_model
from gans.nn.dropout import PortableDropout, portable_dropout
from gans.portable import (PORTABLE_ENV, PortableModeError, check_portable_cpu, cpu_flags,
                           is_portable, numeric_settings, portable_environment)
from gans.spec import DataSpec

REPO = Path(__file__).resolve().parent.parent
HASHES = Path(__file__).resolve().parent / "data" / "portable-hashes.json"
# Short runs that reach every library portable mode pins: torch kernels and dropout masks (gan),
# MKL matrix products (gan's and cgan's linear layers), oneDNN convolutions and batch norm (dcgan).
SHORT_RUNS = {
    "gan": {"g_hidden": 64, "d_units": 32},
    "cgan": {},
    "dcgan": {"ngf": 8, "ndf": 8},
}
CAN_RUN_PORTABLE = True
try:
    check_portable_cpu()
except PortableModeError as reason:  # not an x86-64 AVX2 machine: the mode refuses to start
    CAN_RUN_PORTABLE, NOT_PORTABLE_REASON = False, str(reason)


# --------------------------------------------------------------------------- settings and checks
def test_portable_environment_pins_every_library_and_keeps_the_rest():
    env = portable_environment({"PATH": "/bin", "MKL_CBWR": "AUTO"})
    assert env["PATH"] == "/bin"
    assert {key: env[key] for key in PORTABLE_ENV} == dict(PORTABLE_ENV)
    assert env["ATEN_CPU_CAPABILITY"] == "avx2" and env["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    assert env["MKL_CBWR"] == "COMPATIBLE"  # the only MKL branch kept identical across vendors
    assert is_portable(env) and not is_portable({"PATH": "/bin"})
    assert not is_portable({**env, "ATEN_CPU_CAPABILITY": "avx512"})


@pytest.mark.parametrize("machine, flags, error", [
    ("x86_64", {"avx2", "fma", "sse2"}, None),
    ("AMD64", {"avx2", "fma"}, None),
    ("aarch64", {"avx2", "fma"}, "x86-64"),
    ("x86_64", {"avx", "fma"}, "lacks avx2"),
    ("x86_64", {"avx2"}, "lacks fma"),
])
def test_portable_mode_refuses_machines_without_avx2(machine, flags, error):
    if error is None:
        check_portable_cpu(machine, flags)
    else:
        with pytest.raises(PortableModeError, match=error):
            check_portable_cpu(machine, flags)


def test_cpu_flags_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu sse2 avx2 fma\n")
    assert cpu_flags(cpuinfo) == {"fpu", "sse2", "avx2", "fma"}
    assert cpu_flags(tmp_path / "missing") == set()


def test_numeric_settings_record_what_the_last_bits_depend_on(monkeypatch):
    monkeypatch.setenv("MKL_CBWR", "COMPATIBLE")
    settings = numeric_settings()
    assert settings["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert settings["intra_op_threads"] == torch.get_num_threads()
    assert settings["env"]["MKL_CBWR"] == "COMPATIBLE"
    assert set(PORTABLE_ENV) <= set(settings["env"])
    assert settings["portable_mode"] is False  # only one of the settings is set
    assert "mkl" in settings["libraries"] and "onednn" in settings["libraries"]


def test_snakemake_config_switch_validates(tmp_path):
    """`--config portable=bogus` is refused by the config schema; true/false are accepted."""
    for value, ok in (("true", True), ("false", True), ("bogus", False)):
        result = subprocess.run(
            [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--config", "suite=smoke",
             f"portable={value}", f"results_dir={tmp_path}/results", f"reports_dir={tmp_path}/reports"],
            cwd=REPO, capture_output=True, text=True, timeout=300)
        assert (result.returncode == 0) == ok, result.stdout[-2000:] + result.stderr[-2000:]


# --------------------------------------------------------------------------- dropout
def test_portable_dropout_is_inverted_dropout():
    torch.manual_seed(0)
    x = torch.ones(200_000)
    y = portable_dropout(x, 0.3)
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.7) < 0.005
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / 0.7))
    assert torch.equal(portable_dropout(x, 0.3, training=False), x)
    layer = PortableDropout(0.5).eval()
    assert torch.equal(layer(x), x)


def test_portable_dropout_mask_is_torchs_uniform_draw():
    """The mask is `uniform < keep` from the global generator: a seed fixes it on every CPU."""
    torch.manual_seed(3)
    y = portable_dropout(torch.ones(1000), 0.25)
    torch.manual_seed(3)
    expected = (torch.rand(1000) < 0.75) / 0.75
    assert torch.equal(y, expected)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_portable_dropout_rejects_bad_probabilities(p):
    with pytest.raises(ValueError, match="dropout probability"):
        PortableDropout(p)


@pytest.mark.parametrize("name", MODELS.names())
def test_no_model_uses_torch_dropout(name):
    """torch's CPU dropout draws its mask through MKL on Intel only: masks differ by vendor."""
    spec = DataSpec("synthetic", channels=1, resolution=32, num_classes=4)
    model = build_model(name, spec, {})
    modules = [m for net in model.networks().values() for m in net.modules()]
    assert not [m for m in modules if isinstance(m, nn.modules.dropout._DropoutNd)]


# --------------------------------------------------------------------------- a short run, hashed
def short_run_digest(model: str, config: dict, data: Path, out: Path) -> str:
    subprocess.run(
        [sys.executable, "-m", "gans", "train", "--model", model, "--data", str(data),
         "--out-dir", str(out), "--checkpoint-dir", str(out / "checkpoints"), "--seed", "0",
         "--steps", "4", "--batch-size", "16", "--checkpoint-every", "1000",
         "--model-config", json.dumps(config), "--threads", "1", "--device", "cpu"],
        cwd=REPO, env=portable_environment(), check=True, capture_output=True, timeout=300)
    status = json.loads((out / "status.json").read_text())
    assert status["provenance"]["numeric"]["portable_mode"] is True
    assert status["provenance"]["numeric"]["cpu_capability"] == "AVX2"
    return content_digest(load_torch(out / "final.pt")["networks"])


@pytest.mark.skipif(not CAN_RUN_PORTABLE, reason="portable mode needs x86-64 with AVX2 and FMA")
@pytest.mark.parametrize("model", sorted(SHORT_RUNS))
def test_short_portable_run_matches_committed_hashes(model, tmp_path):
    data = make_prepared(tmp_path / "data" / "train.pt", n=128, resolution=32, num_classes=4)
    digest = short_run_digest(model, SHORT_RUNS[model], data, tmp_path / model)
    committed = json.loads(HASHES.read_text())
    assert digest == committed[model], (
        f"{model}: a 4-step portable run gave networks {digest[:12]}, the committed hash is "
        f"{committed[model][:12]} (made on an AMD EPYC, AVX-512 capable)")


FID_SCRIPT = """
import torch
from gans.metrics.frechet import frechet_distance_of_features
g = torch.Generator().manual_seed(0)
a = torch.randn(2000, 64, generator=g, dtype=torch.float64)
b = torch.randn(2000, 64, generator=g, dtype=torch.float64) @ torch.randn(64, 64, generator=g, dtype=torch.float64) * 0.3
print(repr(frechet_distance_of_features(a.numpy(), b.numpy())))
"""


@pytest.mark.skipif(not CAN_RUN_PORTABLE, reason="portable mode needs x86-64 with AVX2 and FMA")
def test_portable_frechet_distance_matches_committed_value():
    """FID's matrix square root runs in SciPy's OpenBLAS, which portable mode pins too."""
    result = subprocess.run([sys.executable, "-c", FID_SCRIPT], cwd=REPO, env=portable_environment(),
                            check=True, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == json.loads(HASHES.read_text())["frechet_distance"]
