"""Feature extractors, registered into torch-fidelity and run by torch-fidelity's own code.

Two extractors, named as in the metrics files:
- "inception-v3-compat": torch-fidelity's built-in TF1-compatible Inception (features "2048",
  logits "logits_unbiased", as torch-fidelity uses them); grey images are repeated to RGB.
- "classifier": the dataset's domain classifier (gans.metrics.classifier), registered here under
  the same name; features "penultimate" (the hidden layer's features: in v2 taken before its
  non-linearity, the layer's name is kept for torch-fidelity), logits "logits". A frozen
  evaluator's tensors are checked against its card at every load (gans.metrics.evaluators).

Extraction always names the extractor and hands it a resolved, hash-checked local weights file,
which routes around two torch-fidelity 0.4.0 traps: with default extractors, `prc` runs on
VGG16 and receives the Inception weights path too; and a missing download fails inside torch.hub.
Images go in as a Dataset of tensors (never a generative model: its `num_classes > 0` path
crashes on `np.int`), through a DataLoader with 0 workers (`save_cpu_ram=True`; the default asks
for min(4, 2 x cpus) worker processes).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import torch
from torch.utils.data import Dataset
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor
from torch_fidelity.utils import create_feature_extractor, get_featuresdict_from_dataset

from gans.metrics.classifier import load_checked_classifier, load_classifier
from gans.metrics.evaluators import EvaluatorError
from gans.metrics.weights import WeightsError, WeightsFile, checked_weights, resolve_inception_weights
from gans.quantize import uint8_to_float
from gans.registry import Registry


class ClassifierFeatureExtractor(FeatureExtractorBase):
    """The domain classifier as a torch-fidelity extractor; takes uint8 B x C x H x W images."""

    def __init__(self, name: str, features_list: list[str],
                 feature_extractor_weights_path: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(name, features_list)
        if feature_extractor_weights_path is None:
            raise ValueError("the classifier extractor needs feature_extractor_weights_path: a "
                             "frozen evaluator's weights or a file written by `python -m gans train-classifier`")
        self.classifier, _ = load_classifier(feature_extractor_weights_path)
        self.requires_grad_(False)
        self.eval()

    @staticmethod
    def get_provided_features_list() -> tuple[str, ...]:
        return ("penultimate", "logits")

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        return {"isc": "logits", "fid": "penultimate", "kid": "penultimate", "prc": "penultimate"}[metric]

    @staticmethod
    def can_be_compiled() -> bool:
        return False

    @staticmethod
    def get_dummy_input_for_compile() -> torch.Tensor:
        return torch.zeros(1, 1, 32, 32, dtype=torch.uint8)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if x.dtype != torch.uint8 or x.dim() != 4:
            raise ValueError(f"expected uint8 B x C x H x W images, got {x.dtype} {tuple(x.shape)}")
        features, logits = self.classifier.features_and_logits(uint8_to_float(x))
        by_name = {"penultimate": features, "logits": logits}
        return tuple(by_name[name] for name in self.features_list)


def register_with_torch_fidelity() -> None:
    """Register the classifier extractor (once; torch-fidelity refuses a second registration)."""
    if "classifier" not in FEATURE_EXTRACTORS_REGISTRY:
        register_feature_extractor("classifier", ClassifierFeatureExtractor)


register_with_torch_fidelity()


@dataclass(frozen=True)
class ExtractorOptions:
    """Where an extractor's weights are: the command-line / config options."""

    classifier: Optional[str] = None           # train-classifier's weights file
    inception_weights: Optional[str] = None    # None: torch.hub cache, downloaded when online
    inception_sha256: Optional[str] = None
    allow_download: bool = True


@dataclass(frozen=True)
class Extractor:
    """How one extractor is used: its torch-fidelity name, layers, input channels, weights."""

    name: str                   # our name, which is also its torch-fidelity registry name
    feature_layer: str          # FID, KID, precision/recall, density/coverage
    logits_layer: str           # Inception Score (and class metrics for the classifier)
    input_channels: Optional[int]   # None: images go in as they are
    batch_size: int
    resolve_weights: Callable[[ExtractorOptions], WeightsFile]
    keep_real_logits: bool      # worth storing with real features (the classifier's 10, not 1008)


def _classifier_weights(options: ExtractorOptions) -> WeightsFile:
    if options.classifier is None:
        raise ValueError("the classifier extractor needs --classifier CLS.pt (a frozen evaluator of "
                         "gans/metrics/evaluators, or written by `python -m gans train-classifier`)")
    found = checked_weights(options.classifier, None, "Train it with `python -m gans train-classifier`.",
                            "--classifier")
    try:
        loaded = load_checked_classifier(found.path)  # a frozen evaluator: checked against its card
    except EvaluatorError as error:
        raise WeightsError(str(error)) from None
    # the hash of the weights, not of the file's bytes
    return WeightsFile(found.path, loaded.tensors_sha256, loaded.version, loaded.recorded_accuracy)


def _inception_weights(options: ExtractorOptions) -> WeightsFile:
    return resolve_inception_weights(options.inception_weights, options.inception_sha256,
                                     options.allow_download)


EXTRACTORS: Registry[Extractor] = Registry("feature extractor")
for _extractor in (
    Extractor("classifier", "penultimate", "logits", None, 500, _classifier_weights, True),
    Extractor("inception-v3-compat", "2048", "logits_unbiased", 3, 64, _inception_weights, False),
):
    EXTRACTORS.register(_extractor.name)(_extractor)


class ImageTensorDataset(Dataset):
    """uint8 N x C x H x W images as a Dataset of tensors (what torch-fidelity accepts), with grey
    images repeated to `channels` when the extractor wants RGB."""

    def __init__(self, images: torch.Tensor, channels: Optional[int] = None) -> None:
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(f"expected uint8 N x C x H x W images, got {images.dtype} {tuple(images.shape)}")
        if channels is not None and images.shape[1] not in (1, channels):
            raise ValueError(f"cannot turn {images.shape[1]}-channel images into {channels} channels")
        self.images = images
        self.channels = channels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        image = self.images[index]
        if self.channels is not None and image.shape[0] != self.channels:
            image = image.expand(self.channels, -1, -1)
        return image


def fidelity_options(extractor: Extractor, weights: WeightsFile, device: str = "cpu") -> dict[str, Any]:
    """torch-fidelity keyword arguments for this extractor: always the extractor's name, its
    layers and its weights path (never the defaults), 0 DataLoader workers, no hidden cache."""
    return {
        "feature_extractor": extractor.name,
        "feature_extractor_weights_path": str(weights.path),
        "feature_layer_fid": extractor.feature_layer,
        "feature_layer_kid": extractor.feature_layer,
        "feature_layer_prc": extractor.feature_layer,
        "feature_layer_isc": extractor.logits_layer,
        "cuda": torch.device(device).type == "cuda",
        "batch_size": extractor.batch_size,
        "save_cpu_ram": True,
        "cache": False,
        "verbose": False,
    }


def extract_features(extractor: Extractor, weights: WeightsFile, images: torch.Tensor,
                     device: str = "cpu") -> dict[str, torch.Tensor]:
    """{"features": N x D, "logits": N x K} (float32, CPU) of uint8 images, by torch-fidelity's code."""
    if len(images) == 0:
        raise ValueError("no images to extract features from")
    options = fidelity_options(extractor, weights, device)
    layers = [extractor.feature_layer, extractor.logits_layer]
    module = create_feature_extractor(extractor.name, layers, **options)
    out = get_featuresdict_from_dataset(ImageTensorDataset(images, extractor.input_channels), module,
                                        options["batch_size"], options["cuda"], options["save_cpu_ram"],
                                        options["verbose"])
    return {"features": out[extractor.feature_layer].float(), "logits": out[extractor.logits_layer].float()}


def resolve(name: str, options: ExtractorOptions) -> tuple[Extractor, WeightsFile]:
    """The named extractor and its checked weights file."""
    extractor = EXTRACTORS.get(name)
    return extractor, extractor.resolve_weights(options)


def classifier_predictions(path: Path | str, images: torch.Tensor, device: str = "cpu") -> torch.Tensor:
    """Predicted labels of the domain classifier for uint8 images (class metrics under Inception)."""
    extractor, weights = resolve("classifier", ExtractorOptions(classifier=str(path)))
    return extract_features(extractor, weights, images, device)["logits"].argmax(1)
