"""TensorBoard event files of a training job: what they hold, that they change nothing in the
run, and that a resumed run logs each step once."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from gans.sampling import generate_samples, write_grid
from gans.tensorboard_log import tensorboard_dir
from gans.train import TrainSettings, train
from test_train import assert_same_weights

CONFIGS = {
    "dcgan": {"ngf": 8, "ndf": 8, "z_dim": 16},  # BatchNorm: G is sampled in eval mode
    "cgan": {"backbone": "mlp", "g_z_hidden": 8, "g_y_hidden": 8, "g_hidden": 16, "d_x_units": 8,
             "d_y_units": 4, "d_joint_units": 8, "d_pieces": 2, "d_joint_pieces": 2},  # dropout, labels
    "stylegan": {"z_dim": 8, "w_dim": 8, "mapping_width": 8, "mapping_layers": 2, "fmap_base": 32,
                 "fmap_max": 8, "stable_images": 32, "fade_images": 32},  # EMA, noise maps, growth
}


def settings(data: Path, out: Path, model: str = "dcgan", **kw) -> TrainSettings:
    base = dict(model=model, data=str(data), out_dir=str(out / "run"), checkpoint_dir=str(out / "ckpt"),
                seed=7, steps=6, batch_size=16, checkpoint_every=4, model_config=CONFIGS[model],
                log_every=100, suite="tb")
    return TrainSettings(**{**base, **kw})


def events(run_dir: Path) -> EventAccumulator:
    return EventAccumulator(str(tensorboard_dir(run_dir)), size_guidance={"scalars": 0, "images": 0}).Reload()


def loss_log(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "losses.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("model", sorted(CONFIGS))
def test_a_run_with_the_tensorboard_log_is_bit_identical_to_one_without(tiny_data: Path, tmp_path: Path,
                                                                       model: str) -> None:
    """The grids sample the networks every 2 steps without touching the training RNG or modes."""
    train(settings(tiny_data, tmp_path / "plain", model))
    train(settings(tiny_data, tmp_path / "watched", model, tensorboard_every=2))
    assert not tensorboard_dir(tmp_path / "plain" / "run").exists()
    assert len(events(tmp_path / "watched" / "run").Images("samples")) == 3
    assert_same_weights(tmp_path / "plain" / "run", tmp_path / "watched" / "run")
    strip_wall = lambda rows: [{k: v for k, v in row.items() if k != "wall_s"} for row in rows]  # noqa: E731
    assert strip_wall(loss_log(tmp_path / "plain" / "run")) == strip_wall(loss_log(tmp_path / "watched" / "run"))


def test_the_event_files_hold_the_loss_log_the_speed_and_the_sample_grid(tiny_data: Path,
                                                                       tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    train(settings(tiny_data, tmp_path, tensorboard_every=4))
    log = events(run_dir)
    rows = loss_log(run_dir)
    for name in ("loss_D", "loss_G"):
        scalars = log.Scalars(f"train/{name}")
        assert [s.step for s in scalars] == [int(row["step"]) for row in rows] == list(range(1, 7))
        assert [s.value for s in scalars] == pytest.approx([float(row[name]) for row in rows], rel=1e-6)
    assert [s.step for s in log.Scalars("speed/images_per_s")] == list(range(1, 7))
    assert all(s.value > 0 for s in log.Scalars("speed/images_per_s"))

    grids = log.Images("samples")
    assert [g.step for g in grids] == [4, 6]  # every 4 steps and at the last
    # the last grid is the one the sample rule draws from the suite's latent bank
    write_grid(generate_samples(run_dir, 64, "tb", 7), tmp_path / "sample.png")
    expected = np.asarray(Image.open(tmp_path / "sample.png"))
    logged = np.asarray(Image.open(io.BytesIO(grids[-1].encoded_image_string)))
    assert logged.shape[:2] == expected.shape and (logged[..., 0] == expected).all()
    assert not (np.asarray(Image.open(io.BytesIO(grids[0].encoded_image_string))) == logged).all()


def test_a_resumed_run_logs_each_step_once_and_a_fresh_run_starts_a_fresh_log(tiny_data: Path,
                                                                            tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    train(settings(tiny_data, tmp_path, steps=8, tensorboard_every=4))  # leaves the step-4 checkpoint
    time.sleep(1.1)  # TensorBoard reads event files in name order, which starts with the second
    train(settings(tiny_data, tmp_path, steps=8, tensorboard_every=4))  # resumes at step 4: 5-8 again
    assert len(list(tensorboard_dir(run_dir).iterdir())) == 2
    log = events(run_dir)
    rows = loss_log(run_dir)
    scalars = log.Scalars("train/loss_D")
    assert [s.step for s in scalars] == list(range(1, 9))
    assert [s.value for s in scalars] == pytest.approx([float(row["loss_D"]) for row in rows], rel=1e-6)
    assert [g.step for g in log.Images("samples")] == [4, 8]

    train(settings(tiny_data, tmp_path, steps=8, tensorboard_every=4, checkpoint_dir=str(tmp_path / "new")))
    assert len(list(tensorboard_dir(run_dir).iterdir())) == 1
    assert [s.step for s in events(run_dir).Scalars("train/loss_D")] == list(range(1, 9))


def test_toy_points_get_scalars_and_no_grid(tmp_path: Path) -> None:
    from gans.data import prepare_split

    data = tmp_path / "ring" / "train.pt"
    prepare_split("ring-8", "train", data, tmp_path / "raw")
    train(TrainSettings(model="gan", data=str(data), out_dir=str(tmp_path / "run"),
                        checkpoint_dir=str(tmp_path / "ckpt"), steps=3, batch_size=16, log_every=100,
                        tensorboard_every=1))
    log = events(tmp_path / "run")
    assert [s.step for s in log.Scalars("train/loss_D")] == [1, 2, 3]
    assert "samples" not in log.Tags()["images"]


def test_cli_default_writes_no_tensorboard_log() -> None:
    from gans.cli import build_parser

    args = build_parser().parse_args(["train", "--model", "gan", "--data", "d", "--out-dir", "o",
                                      "--checkpoint-dir", "c"])
    assert args.tensorboard_every == 0
    with pytest.raises(ValueError, match="tensorboard_every must be >= 0"):
        from gans.train import validate_settings

        validate_settings(TrainSettings("gan", __file__, "o", "c", tensorboard_every=-1))
