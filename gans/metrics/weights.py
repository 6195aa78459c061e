"""Feature-extractor weights files: found, checked by sha256, and recorded with every number.

torch-fidelity downloads its Inception weights through torch.hub the first time they are needed;
offline that fails deep inside torch.hub. Here the weights are always resolved to a local file
first (downloaded the same way when online), so a missing or wrong file fails early with a
message that says where to put it and which option names it.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

INCEPTION_FILE_NAME = URL_INCEPTION_V3.rsplit("/", 1)[-1]
# torch.hub convention: the file name ends with the first 8 hex digits of the file's sha256
INCEPTION_SHA256_PREFIX = INCEPTION_FILE_NAME.rsplit("-", 1)[-1].split(".")[0]
INCEPTION_OPTIONS = "--inception-weights PATH (config: inception.weights)"
INCEPTION_SHA256_OPTION = "--inception-sha256 (config: inception.sha256)"


class WeightsError(RuntimeError):
    """A weights file is missing, cannot be downloaded, or is not the expected file."""


@dataclass(frozen=True)
class WeightsFile:
    path: Path
    sha256: str
    version: Optional[str] = None             # classifier: frozen evaluator's name, or "retrained"
    recorded_accuracy: Optional[float] = None  # classifier: test accuracy from its card / record


def file_sha256(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tensors_sha256(path: Path | str) -> str:
    """sha256 of a weights file's tensors and their names, not of the file: torch.save's archive
    holds the file's own name, so the same weights saved under another name hash differently."""
    from gans.io import content_digest, load_torch

    record = load_torch(path)
    return content_digest(record.get("state_dict", record) if isinstance(record, dict) else record)


def checked_weights(path: Path | str, expected_sha256: Optional[str], how_to_get: str,
                    option: str, sha256_option: str = "the expected sha256") -> WeightsFile:
    """The file with its sha256; a missing file or a hash mismatch raises WeightsError."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist. {how_to_get} "
                           f"Put the file at {path}, or point {option} at where it is.")
    sha256 = file_sha256(path)
    if expected_sha256 and sha256 != expected_sha256.strip().lower():
        raise WeightsError(f"weights file {path} has sha256 {sha256}, expected {expected_sha256} "
                           f"(from {sha256_option}): a different or corrupt file.")
    return WeightsFile(path, sha256)


INCEPTION_HOW_TO_GET = (f"On a machine with internet, download torch-fidelity's Inception weights from "
                        f"{URL_INCEPTION_V3} (its sha256 starts with {INCEPTION_SHA256_PREFIX}).")


def download_inception_weights(destination: Path) -> None:
    """torch.hub's download with its hash-prefix check, as torch-fidelity does it."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    torch.hub.download_url_to_file(URL_INCEPTION_V3, str(destination),
                                   hash_prefix=INCEPTION_SHA256_PREFIX, progress=False)


def resolve_inception_weights(path: Optional[Path | str] = None, expected_sha256: Optional[str] = None,
                              allow_download: bool = True,
                              hub_dir: Optional[Path | str] = None) -> WeightsFile:
    """A local Inception weights file: the given path, else torch.hub's cache (downloaded if needed)."""
    if path is not None:
        weights = checked_weights(path, expected_sha256, INCEPTION_HOW_TO_GET, INCEPTION_OPTIONS,
                                  INCEPTION_SHA256_OPTION)
        if not weights.sha256.startswith(INCEPTION_SHA256_PREFIX):
            print(f"[weights] note: {path} is not torch-fidelity's Inception file (sha256 "
                  f"{weights.sha256[:12]}...): its numbers are not comparable with published FIDs",
                  file=sys.stderr, flush=True)
        return weights
    cached = Path(hub_dir or torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE_NAME
    if not cached.is_file():
        if not allow_download:
            raise WeightsError(f"no Inception weights: {cached} does not exist and downloading is off. "
                               f"{INCEPTION_HOW_TO_GET} Or pass {INCEPTION_OPTIONS}.")
        print(f"[weights] downloading {URL_INCEPTION_V3} -> {cached}", file=sys.stderr, flush=True)
        try:
            download_inception_weights(cached)
        except Exception as error:  # offline, DNS, proxy, hash mismatch, ...
            raise WeightsError(f"could not download the Inception weights ({type(error).__name__}: "
                               f"{error}). Offline? {INCEPTION_HOW_TO_GET} Put it at {cached} or pass "
                               f"{INCEPTION_OPTIONS}.") from error
    weights = checked_weights(cached, expected_sha256, INCEPTION_HOW_TO_GET, INCEPTION_OPTIONS,
                              INCEPTION_SHA256_OPTION)
    if not weights.sha256.startswith(INCEPTION_SHA256_PREFIX):
        raise WeightsError(f"{cached} has sha256 {weights.sha256}, which does not start with "
                           f"{INCEPTION_SHA256_PREFIX}: a corrupt download; delete it and retry.")
    return weights
