"""Nothing silently wrong: corrupt files are refused or skipped with a message, and files that
would run code when unpickled are never loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gans.checkpoint import newest_valid_checkpoint
from gans.data import DataCheckError, load_prepared
from gans.io import CorruptFileError, UnsafeFileError, content_digest, load_torch, verified, with_digest
from gans.metrics.classifier import load_classifier
from gans.train import TrainSettings, load_trained, train


class RunsCode:
    """Unpickling this calls a function: what a hostile results folder could ship."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def hostile_file(path: Path, marker: Path) -> Path:
    torch.save({"data": RunsCode(marker)}, path)
    return path


def settings(data: Path, out: Path, **kw) -> TrainSettings:
    base = dict(model="dcgan", data=str(data), out_dir=str(out / "run"), checkpoint_dir=str(out / "ckpt"),
                seed=7, steps=8, batch_size=16, checkpoint_every=3, model_config={"ngf": 8, "ndf": 8, "z_dim": 16},
                log_every=100)
    base.update(kw)
    return TrainSettings(**base)


def flip_a_weight(path: Path) -> None:
    """Change one number inside a weight tensor and save the file again with its old digest."""
    record = torch.load(path, weights_only=True)
    networks = record["model"]["networks"] if isinstance(record["model"], dict) else record["networks"]
    weight = networks["G"]["main.0.weight"]
    weight[(0,) * weight.dim()] += 1.0
    torch.save(record, path)


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    final = torch.load(run_dir / "final.pt", weights_only=True)
    return {f"{n}.{k}": v for n, sd in final["networks"].items() for k, v in sd.items()}


def test_digest_is_of_the_content_not_the_file(tmp_path: Path) -> None:
    record = {"w": torch.arange(6.0).view(2, 3), "name": "x", "n": 3, "nested": [1, (2.5, None)]}
    assert content_digest(record) == content_digest({k: record[k] for k in reversed(list(record))})
    changed = {**record, "w": record["w"].clone()}
    changed["w"][0, 0] = 0.5
    assert content_digest(changed) != content_digest(record)
    assert content_digest({**record, "n": 3.0}) != content_digest(record)  # types count
    for name in ("a.pt", "b.pt"):
        torch.save(with_digest(record), tmp_path / name)
        assert verified(load_torch(tmp_path / name), tmp_path / name)["name"] == "x"


def test_prepared_data_with_flipped_bytes_is_refused(tiny_data: Path, tmp_path: Path) -> None:
    record = torch.load(tiny_data, weights_only=True)
    record["data"][3, 0, 2, 2] ^= 0x55
    torch.save(record, tmp_path / "corrupt.pt")
    with pytest.raises(DataCheckError, match="do not match the sha256"):
        load_prepared(tmp_path / "corrupt.pt")
    with pytest.raises(DataCheckError):
        train(settings(tmp_path / "corrupt.pt", tmp_path / "run"))
    assert not (tmp_path / "run").exists(), "nothing trains on corrupt data"


def test_a_checkpoint_with_a_flipped_weight_is_skipped_and_the_run_still_ends_exact(
        tiny_data: Path, tmp_path: Path, capsys) -> None:
    train(settings(tiny_data, tmp_path / "whole"))
    cut = settings(tiny_data, tmp_path / "cut", steps=7)
    train(cut)  # checkpoints at steps 3 and 6
    flip_a_weight(Path(cut.checkpoint_dir) / "step00000006.pt")
    train(settings(tiny_data, tmp_path / "cut"))
    out = capsys.readouterr().out
    assert "step00000006.pt: content does not match its digest" in out and "resumed from step 3" in out
    a, b = weights(tmp_path / "whole" / "run"), weights(tmp_path / "cut" / "run")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_corrupt_final_pt_is_an_error(tiny_data: Path, tmp_path: Path) -> None:
    train(settings(tiny_data, tmp_path))
    flip_a_weight(tmp_path / "run" / "final.pt")
    with pytest.raises(CorruptFileError, match="final.pt: content does not match its digest"):
        load_trained(tmp_path / "run")


def test_status_records_the_verified_data_hash(tiny_data: Path, tmp_path: Path) -> None:
    train(settings(tiny_data, tmp_path))
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["data_sha256"] == torch.load(tiny_data, weights_only=True)["sha256"]


@pytest.mark.parametrize("loader", [
    load_prepared,
    load_classifier,
    lambda path: load_trained(path.parent),
    load_torch,
], ids=["prepared data", "evaluator weights", "final.pt", "samples or features"])
def test_files_that_would_run_code_are_refused(loader, tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    path = hostile_file(tmp_path / "final.pt", marker)
    with pytest.raises(UnsafeFileError, match="could run code"):
        loader(path)
    assert not marker.exists()


def test_a_hostile_checkpoint_is_skipped_not_run(tmp_path: Path, capsys) -> None:
    marker = tmp_path / "code-ran"
    (tmp_path / "ckpt").mkdir()
    hostile_file(tmp_path / "ckpt" / "step00000004.pt", marker)
    assert newest_valid_checkpoint(tmp_path / "ckpt", "any") is None
    assert "could run code" in capsys.readouterr().out and not marker.exists()
