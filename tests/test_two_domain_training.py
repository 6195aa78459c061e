"""CoGAN and CycleGAN through the training loop on a domain task: a seeded run repeats bit for
bit, and a run stopped after a checkpoint resumes to the same weights (CycleGAN's image pools and
its budget-dependent lr schedule included)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gans.models import MODELS
from gans.train import TrainSettings, train

CONFIGS = {"cogan": {"ngf": 4, "d_conv1": 4, "d_conv2": 4, "d_fc": 8},
           "cyclegan": {"ngf": 4, "ndf": 4, "n_blocks": 2, "batch_size": 4, "pool_size": 6}}


class Stop(Exception):
    """Stands in for a kill after the step-4 checkpoint."""


def settings(model: str, data: Path, out: Path) -> TrainSettings:
    return TrainSettings(model=model, data=str(data), out_dir=str(out / "run"), checkpoint_dir=str(out / "ckpt"),
                         seed=2, steps=6, batch_size=8, checkpoint_every=2, log_every=100,
                         model_config=CONFIGS[model], domain_task="edges")


def weights(out: Path) -> dict[str, torch.Tensor]:
    final = torch.load(out / "run" / "final.pt", weights_only=False)
    return {f"{n}.{k}": v for n, sd in final["networks"].items() for k, v in sd.items()}


@pytest.mark.parametrize("model", sorted(CONFIGS))
def test_reruns_and_resumes_are_bit_identical(model, tiny_data, tmp_path, monkeypatch) -> None:
    first = train(settings(model, tiny_data, tmp_path / "a"))
    train(settings(model, tiny_data, tmp_path / "b"))
    a, b = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert first["status"] == "completed" and all(torch.equal(a[k], b[k]) for k in a)

    cls = MODELS.get(model)
    step = cls.train_step

    def stopping(self, batch, progress):
        if progress.step == 5:
            raise Stop
        return step(self, batch, progress)

    monkeypatch.setattr(cls, "train_step", stopping)
    with pytest.raises(Stop):
        train(settings(model, tiny_data, tmp_path / "cut"))
    monkeypatch.setattr(cls, "train_step", step)
    train(settings(model, tiny_data, tmp_path / "cut"))
    cut = weights(tmp_path / "cut")
    assert cut.keys() == a.keys() and all(torch.equal(a[k], cut[k]) for k in a)
    final = torch.load(tmp_path / "cut" / "run" / "final.pt", weights_only=False)
    if model == "cyclegan":
        assert len(final["extra"]["pool_A"]["images"]) == 6  # the pools travelled through the resume
