"""The training loop: bit-identical reruns, exact resume after a kill, divergence handling, CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gans.cli import build_parser
from gans.models.dcgan import DCGAN
from gans.sampling import generate_samples
from gans.train import TrainSettings, load_trained, train

REPO = Path(__file__).resolve().parent.parent
SMALL = {"ngf": 8, "ndf": 8, "z_dim": 16}


def settings(data: Path, out: Path, **kw) -> TrainSettings:
    base = dict(model="dcgan", data=str(data), out_dir=str(out / "run"), checkpoint_dir=str(out / "ckpt"),
                seed=7, steps=12, batch_size=16, checkpoint_every=4, model_config=SMALL, log_every=100)
    base.update(kw)
    return TrainSettings(**base)


def networks_of(run_dir: Path) -> dict[str, torch.Tensor]:
    final = torch.load(run_dir / "final.pt", weights_only=False)
    return {f"{net}.{k}": v for net, sd in final["networks"].items() for k, v in sd.items()}


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = networks_of(a), networks_of(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key


def test_seeded_run_twice_is_bit_identical(tiny_data: Path, tmp_path: Path) -> None:
    first = train(settings(tiny_data, tmp_path / "a"))
    second = train(settings(tiny_data, tmp_path / "b"))
    assert first["status"] == second["status"] == "completed" and first["steps_done"] == 12
    assert_same_weights(tmp_path / "a" / "run", tmp_path / "b" / "run")
    sa = generate_samples(tmp_path / "a" / "run", 40, "t", 7)
    sb = generate_samples(tmp_path / "b" / "run", 40, "t", 7)
    assert torch.equal(sa["data"], sb["data"]) and sa["data"].dtype == torch.uint8
    la = (tmp_path / "a" / "run" / "losses.csv").read_text().splitlines()
    lb = (tmp_path / "b" / "run" / "losses.csv").read_text().splitlines()
    strip_wall = lambda lines: [",".join(v for i, v in enumerate(l.split(",")) if i != 1) for l in lines]
    assert strip_wall(la) == strip_wall(lb) and len(la) == 13
    # a different seed gives a different run
    train(settings(tiny_data, tmp_path / "c", seed=8))
    assert not torch.equal(networks_of(tmp_path / "a" / "run")["G.main.0.weight"],
                           networks_of(tmp_path / "c" / "run")["G.main.0.weight"])


def test_status_and_outputs(tiny_data: Path, tmp_path: Path) -> None:
    train(settings(tiny_data, tmp_path))
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["status"] == "completed" and status["images_seen"] == 12 * 16
    assert status["timing"]["images_per_s"] > 0 and status["config"]["ngf"] == 8
    assert status["provenance"]["packages"]["torch"].startswith("2.")
    header = (tmp_path / "run" / "losses.csv").read_text().splitlines()[0].split(",")
    assert header[:2] == ["step", "wall_s"] and {"loss_D", "loss_G"} <= set(header)
    assert len(list((tmp_path / "ckpt").glob("step*.pt"))) == 2  # keeps the newest two
    assert status["steps_done"] == 12
    model = load_trained(tmp_path / "run")
    assert model.checkpoint_rule == "final step" and all(
        p.is_contiguous(memory_format=torch.channels_last)
        for net in model.networks().values() for p in net.parameters() if p.dim() == 4)


def _run_cli_train(data: Path, out: Path, steps: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "gans", "train", "--model", "dcgan", "--data", str(data),
           "--out-dir", str(out / "run"), "--checkpoint-dir", str(out / "ckpt"), "--seed", "7",
           "--steps", str(steps), "--batch-size", "16", "--checkpoint-every", "4",
           "--model-config", json.dumps(SMALL), "--device", "cpu", "--log-every", "1000"]
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)


def test_killed_run_resumes_to_the_same_weights(tiny_data: Path, tmp_path: Path) -> None:
    uninterrupted = _run_cli_train(tiny_data, tmp_path / "full", 60)
    assert uninterrupted.wait(timeout=300) == 0

    victim = _run_cli_train(tiny_data, tmp_path / "killed", 60)
    deadline = time.time() + 240
    while not list((tmp_path / "killed" / "ckpt").glob("step*.pt")) and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    assert not (tmp_path / "killed" / "run" / "status.json").exists(), "killed before it finished"
    resumed = _run_cli_train(tiny_data, tmp_path / "killed", 60)
    output = resumed.communicate(timeout=300)[0].decode()
    assert resumed.returncode == 0 and "resumed from step" in output
    assert_same_weights(tmp_path / "full" / "run", tmp_path / "killed" / "run")


def test_corrupt_newest_checkpoint_falls_back(tiny_data: Path, tmp_path: Path) -> None:
    train(settings(tiny_data, tmp_path / "ref"))
    s = settings(tiny_data, tmp_path / "x", steps=8)
    train(s)  # leaves step4 (and nothing at 8: the final step is not checkpointed)
    (Path(s.checkpoint_dir) / "step00000009.pt").write_bytes(b"truncated")
    train(settings(tiny_data, tmp_path / "x"))
    assert_same_weights(tmp_path / "ref" / "run", tmp_path / "x" / "run")


def test_injected_nan_gives_status_diverged(tiny_data: Path, tmp_path: Path, monkeypatch) -> None:
    real_step = DCGAN.train_step

    def poisoned(self, batch, progress):
        losses = real_step(self, batch, progress)
        if progress.step + 1 == 5:  # the fifth generator update
            losses["loss_D"] = float("nan")
        return losses

    monkeypatch.setattr(DCGAN, "train_step", poisoned)
    record = train(settings(tiny_data, tmp_path))
    assert record["status"] == "diverged" and record["diverged_at"] == 5
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["status"] == "diverged" and status["steps_done"] == 5
    samples = generate_samples(tmp_path / "run", 10, "t", 7)
    assert samples["status"] == "diverged" and len(samples["data"]) == 0


@pytest.mark.parametrize("bad, message", [({"steps": 0}, "steps must be >= 1"),
                                          ({"model": "nope"}, "unknown model 'nope'")])
def test_bad_settings_are_refused(tiny_data: Path, tmp_path: Path, bad, message) -> None:
    with pytest.raises(ValueError, match=message):
        train(settings(tiny_data, tmp_path, **bad))


def test_every_subcommand_has_help(capsys) -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert {"prepare", "train", "sample", "sample-real", "list"} <= set(commands)
    for name in commands:
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args([name, "--help"])
        assert exit_info.value.code == 0
        assert "usage:" in capsys.readouterr().out


@pytest.mark.parametrize("n,nrow,channels", [(64, 8, 1), (60, 10, 1), (7, 3, 3)])
def test_sample_grid_matches_torchvision_make_grid(n: int, nrow: int, channels: int) -> None:
    from torchvision.utils import make_grid

    from gans.grid import tile_images

    images = torch.randint(0, 256, (n, channels, 5, 6), generator=torch.Generator().manual_seed(n),
                           dtype=torch.uint8)
    ours = tile_images(images, nrow)
    theirs = make_grid(images.float() / 255, nrow=nrow, padding=2, pad_value=0.5)
    theirs = (theirs * 255 + 0.5).clamp(0, 255).to(torch.uint8)[:channels]
    assert torch.equal(ours, theirs)
