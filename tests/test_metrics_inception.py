"""The Inception path, offline, on a state dict of random weights the test saves (pipeline only:
the numbers mean nothing): weights resolution and sha256 checks with clear errors, the
real-features + evaluate commands end to end, and agreement with torch-fidelity's own
calculate_metrics under the options we hand it (which also routes around the prc/VGG16 trap)."""

from __future__ import annotations

import json
import urllib.error
from pathlib import Path
from unittest import mock

import pytest
import torch
import torch_fidelity
import torch_fidelity.feature_extractor_inceptionv3 as tf_inception
from torch_fidelity.utils import resolve_feature_extractor

from gans.cli import main
from gans.metrics import weights as weights_module
from gans.metrics.evaluate import real_subset_indices
from gans.metrics.extractors import EXTRACTORS, ImageTensorDataset, fidelity_options
from gans.metrics.scores import MetricSettings
from gans.metrics.synthetic import pattern_images, prepared_split
from gans.metrics.weights import (INCEPTION_FILE_NAME, WeightsError, WeightsFile, file_sha256,
                                  resolve_inception_weights)

N_REAL, N_SPLIT, N_FAKE = 6, 8, 6  # the fewest density/coverage (k=5) accepts; Inception is slow on CPU


@pytest.fixture(scope="module")
def random_inception(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """torch-fidelity's Inception with random (variance-preserving) weights, saved as a state dict."""
    with torch.random.fork_rng(), \
            mock.patch.object(tf_inception, "load_state_dict_from_url", return_value=None), \
            mock.patch.object(tf_inception.FeatureExtractorInceptionV3, "load_state_dict"):
        torch.manual_seed(0)
        module = tf_inception.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
        for layer in module.modules():
            if isinstance(layer, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
    path = tmp_path_factory.mktemp("inception") / "random-inception.pth"
    torch.save(module.state_dict(), path)
    return path


def test_given_file_is_hashed_and_checked(random_inception):
    sha256 = file_sha256(random_inception)
    assert resolve_inception_weights(random_inception) == WeightsFile(random_inception, sha256)
    assert resolve_inception_weights(random_inception, sha256.upper()).sha256 == sha256
    with pytest.raises(WeightsError, match="--inception-sha256") as error:
        resolve_inception_weights(random_inception, "0" * 64)
    assert sha256 in str(error.value)


def test_missing_file_says_where_to_put_it(tmp_path):
    missing = tmp_path / "nowhere" / "inception.pth"
    with pytest.raises(WeightsError) as error:
        resolve_inception_weights(missing)
    message = str(error.value)
    assert str(missing) in message and "--inception-weights" in message
    assert tf_inception.URL_INCEPTION_V3 in message


def test_offline_download_failure_is_a_clear_error(tmp_path, monkeypatch):
    def offline(destination: Path) -> None:
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(weights_module, "download_inception_weights", offline)
    with pytest.raises(WeightsError, match="Offline") as error:
        resolve_inception_weights(hub_dir=tmp_path)
    assert str(tmp_path / "checkpoints" / INCEPTION_FILE_NAME) in str(error.value)
    with pytest.raises(WeightsError, match="downloading is off"):
        resolve_inception_weights(hub_dir=tmp_path, allow_download=False)


def test_a_corrupt_cached_download_is_refused(tmp_path):
    cached = tmp_path / "checkpoints" / INCEPTION_FILE_NAME
    cached.parent.mkdir()
    cached.write_bytes(b"truncated")
    with pytest.raises(WeightsError, match="corrupt"):
        resolve_inception_weights(hub_dir=tmp_path)


def test_precision_recall_stay_on_the_named_extractor(random_inception):
    """torch-fidelity puts prc on VGG16 by default and hands it the Inception weights path; our
    options always name the extractor, so every metric resolves to Inception."""
    options = fidelity_options(EXTRACTORS.get("inception-v3-compat"), WeightsFile(random_inception, ""))
    assert resolve_feature_extractor(prc=True, fid=True, isc=True, kid=True, **options) == "inception-v3-compat"
    assert resolve_feature_extractor(prc=True) == "vgg16"  # the default we route around


@pytest.fixture(scope="module")
def inception_run(random_inception, tmp_path_factory) -> dict:
    """real-features + evaluate through the CLI with the random Inception, on grey images."""
    root = tmp_path_factory.mktemp("inception-run")
    real_images, real_labels = pattern_images(N_SPLIT, num_classes=2, seed=1)
    torch.save(prepared_split(real_images, real_labels, "test"), root / "test.pt")
    fake_images, _ = pattern_images(N_FAKE, num_classes=2, seed=2)
    torch.save({"data": fake_images, "labels": None, "kind": "image", "status": "completed",
                "model": "dcgan", "dataset": "patterns", "seed": 0, "suite": "test", "step": 5,
                "checkpoint_rule": "final", "conditional": False}, root / "samples.pt")
    weights = ["--inception-weights", str(random_inception)]
    assert main(["real-features", "--data", str(root / "test.pt"), "--extractor", "inception-v3-compat",
                 "--n", str(N_REAL), "--out", str(root / "real.pt"), *weights,
                 "--inception-sha256", file_sha256(random_inception)]) == 0
    assert main(["evaluate", "--samples", str(root / "samples.pt"), "--real", str(root / "real.pt"),
                 "--extractor", "inception-v3-compat", "--out", str(root / "metrics.json"), *weights]) == 0
    return {"record": json.loads((root / "metrics.json").read_text()), "fake": fake_images,
            "real": real_images[real_subset_indices(N_SPLIT, N_REAL)], "weights": random_inception}


def test_inception_pipeline_runs_end_to_end(inception_run):
    record = inception_run["record"]
    assert record["status"] == "completed" and record["extractor"] == "inception-v3-compat"
    protocol = record["protocol"]
    assert protocol["extractor_sha256"] == file_sha256(inception_run["weights"])
    assert protocol["feature_dim"] == 2048 and protocol["feature_layer"] == "2048"
    assert (protocol["n_generated"], protocol["n_real"]) == (N_FAKE, N_REAL)
    metrics = record["metrics"]
    for key in ("fid", "is_mean", "is_std", "kid_mean", "kid_std", "precision", "recall", "density",
                "coverage"):
        assert isinstance(metrics[key], float), key
    assert metrics["class_accuracy"] is None and metrics["intra_fid"] is None  # unconditional
    assert "per_class" not in record


def test_inception_numbers_equal_torch_fidelity_calculate_metrics(inception_run):
    """Our extraction + metric calls give what torch-fidelity's calculate_metrics gives with the
    same options (with the default extractors this call would load Inception weights into VGG16).
    FID is left out: its 2048-d non-symmetric eigvals is slow on CPU, and the Fréchet distance is
    checked against torch-fidelity's in test_metrics_frechet."""
    extractor = EXTRACTORS.get("inception-v3-compat")
    options = fidelity_options(extractor, WeightsFile(inception_run["weights"], ""))
    theirs = torch_fidelity.calculate_metrics(
        input1=ImageTensorDataset(inception_run["fake"], 3), input2=ImageTensorDataset(inception_run["real"], 3),
        isc=True, kid=True, prc=True, **{**options, **MetricSettings().fidelity_kwargs(N_FAKE, N_REAL)})
    ours = inception_run["record"]["metrics"]
    assert ours["is_mean"] == pytest.approx(theirs["inception_score_mean"], rel=1e-9)
    assert ours["kid_mean"] == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-6)
    assert ours["precision"] == theirs["precision"] and ours["recall"] == theirs["recall"]


def test_the_download_goes_through_torch_hub_with_its_hash_prefix(tmp_path, monkeypatch):
    calls = []

    def fake_download(url, destination, hash_prefix=None, progress=True):
        calls.append((url, destination, hash_prefix, progress))
        Path(destination).write_bytes(b"not inception")

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    destination = tmp_path / "hub" / "checkpoints" / INCEPTION_FILE_NAME
    weights_module.download_inception_weights(destination)
    assert calls == [(tf_inception.URL_INCEPTION_V3, str(destination), weights_module.INCEPTION_SHA256_PREFIX,
                      False)]
    assert weights_module.INCEPTION_SHA256_PREFIX == INCEPTION_FILE_NAME.rsplit("-", 1)[-1].split(".")[0]
    assert len(weights_module.INCEPTION_SHA256_PREFIX) == 8
    # resolving downloads into the hub cache, then checks the file like any other
    calls.clear()
    with pytest.raises(WeightsError, match="corrupt download"):
        resolve_inception_weights(hub_dir=tmp_path / "other")
    assert calls[0][1] == str(tmp_path / "other" / "checkpoints" / INCEPTION_FILE_NAME)


def test_a_given_file_that_is_not_torch_fidelitys_is_used_with_a_note(random_inception, capsys):
    resolve_inception_weights(random_inception)
    assert "is not torch-fidelity's Inception file" in capsys.readouterr().err


def test_file_sha256_is_the_sha256_of_the_bytes(tmp_path):
    import hashlib

    data = bytes(range(256)) * 5000  # more than one 1 MiB block
    (tmp_path / "f").write_bytes(data)
    assert file_sha256(tmp_path / "f") == hashlib.sha256(data).hexdigest()
    with pytest.raises(WeightsError, match="sha256 .* expected 0+ \\(from the expected sha256\\)"):
        weights_module.checked_weights(tmp_path / "f", "0" * 64, "", "--x")
    assert weights_module.checked_weights(tmp_path / "f", None, "", "--x").sha256 == file_sha256(tmp_path / "f")
    assert weights_module.checked_weights(tmp_path / "f", f" {file_sha256(tmp_path / 'f')} \n", "", "--x")


def test_a_download_into_an_existing_hub_folder(tmp_path, monkeypatch):
    (tmp_path / "checkpoints").mkdir()
    monkeypatch.setattr(torch.hub, "download_url_to_file",
                        lambda url, destination, **kwargs: Path(destination).write_bytes(b"x"))
    with pytest.raises(WeightsError, match="corrupt download"):  # downloaded, then checked
        resolve_inception_weights(hub_dir=tmp_path)


def test_a_cached_file_of_another_hash_names_the_option_that_expects_it(random_inception, tmp_path):
    cached = tmp_path / "checkpoints" / INCEPTION_FILE_NAME
    cached.parent.mkdir()
    cached.write_bytes(random_inception.read_bytes())
    with pytest.raises(WeightsError, match=r"expected 0+ \(from --inception-sha256"):
        resolve_inception_weights(hub_dir=tmp_path, expected_sha256="0" * 64)


def test_grey_images_become_rgb_and_other_channel_counts_are_refused():
    grey = torch.zeros(2, 1, 4, 4, dtype=torch.uint8)
    assert ImageTensorDataset(grey, 3)[0].shape == (3, 4, 4)
    assert ImageTensorDataset(grey)[1].shape == (1, 4, 4)
    assert ImageTensorDataset(torch.zeros(2, 2, 4, 4, dtype=torch.uint8))[0].shape == (2, 4, 4)
    with pytest.raises(ValueError, match="cannot turn 2-channel images into 3 channels"):
        ImageTensorDataset(torch.zeros(2, 2, 4, 4, dtype=torch.uint8), 3)
    with pytest.raises(ValueError, match="expected uint8"):
        ImageTensorDataset(grey.float(), 3)


def test_torch_fidelity_gets_the_extractor_by_name_its_layers_its_weights_and_no_cache(tmp_path):
    options = fidelity_options(EXTRACTORS.get("classifier"), WeightsFile(tmp_path / "c.pt", "ab"))
    assert options == {
        "feature_extractor": "classifier", "feature_extractor_weights_path": str(tmp_path / "c.pt"),
        "feature_layer_fid": "penultimate", "feature_layer_kid": "penultimate",
        "feature_layer_prc": "penultimate", "feature_layer_isc": "logits", "cuda": False, "batch_size": 500,
        "save_cpu_ram": True, "cache": False, "verbose": False}
    assert fidelity_options(EXTRACTORS.get("inception-v3-compat"), WeightsFile(tmp_path / "i.pt", "cd"),
                            "cuda:1")["cuda"] is True


def test_the_metric_commands_require_an_extractor_of_their_own_kinds(tmp_path):
    with pytest.raises(SystemExit) as refused:
        main(["evaluate", "--samples", "s.pt", "--real", "r.pt", "--out", str(tmp_path / "m.json")])
    assert refused.value.code == 2  # argparse: --extractor is required
    with pytest.raises(SystemExit) as refused:
        main(["real-features", "--data", "d.pt", "--extractor", "toy", "--n", "5", "--out", "x.pt"])
    assert refused.value.code == 2  # argparse: toy is for point samples, which have no features


def test_the_stand_in_writer_saves_the_same_random_inception(random_inception, tmp_path):
    """gans.metrics.inception_stand_in (the GPU check's and the suite tests' stand-in) writes,
    for seed 0, exactly this module's random network: every tensor of the state dict; another
    seed draws other weights; the folder is made and no temporary file is left behind."""
    from gans.metrics.inception_stand_in import write_random_inception

    expected = torch.load(random_inception)
    path = write_random_inception(tmp_path / "a" / "b" / "stand-in.pth")
    assert path == tmp_path / "a" / "b" / "stand-in.pth"
    assert sorted(p.name for p in path.parent.iterdir()) == ["stand-in.pth"]
    written = torch.load(path)
    assert written.keys() == expected.keys()
    assert all(torch.equal(written[k], expected[k]) for k in expected)
    other = torch.load(write_random_inception(tmp_path / "seed1.pth", seed=1))
    convs = [k for k in expected if k.endswith("conv.weight")]
    assert convs and all(not torch.equal(other[k], expected[k]) for k in convs)
    fan_in = expected[convs[0]][0].numel()
    assert expected[convs[0]].std().item() == pytest.approx((2 / fan_in) ** 0.5, rel=0.1)


def test_a_download_that_leaves_no_file_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.setattr(weights_module, "download_inception_weights", lambda destination: None)
    with pytest.raises(WeightsError, match="does not exist") as error:
        resolve_inception_weights(hub_dir=tmp_path)
    assert tf_inception.URL_INCEPTION_V3 in str(error.value) and "--inception-weights" in str(error.value)
