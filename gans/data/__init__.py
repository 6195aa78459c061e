"""Datasets: where each comes from, how a split becomes one uint8 tensor file, how batches are drawn.

One module per job:
  sources   the dataset registry and acquisition (IDX files, Debian package, torchvision download,
            CIFAR-10, CelebA, image folders)
  toy       the toy 2-D Gaussian mixtures, registered as datasets of kind "points"
  prepared  the prepared-file format: prepare_split writes one checked split, load_prepared reads it
  domains   two-domain tasks: two unpaired domains derived from one prepared split
  stream    BatchStream: seeded, resumable minibatches for training

The names below are the package's public interface; import them from gans.data.
"""

from gans.data.sources import (DATASETS, DEBIAN_FASHION_MNIST_DIR, IDX_FILES, SPLITS, DataCheckError,
                               DatasetSource, DataUnavailableError, RawSplit, idx_split_from_dir,
                               obtain_mnist_family, read_idx, unpack_idx_into)
from gans.data.toy import TOY_MIXTURES, TOY_SPLIT_SEEDS, ToyMixture, grid_modes, ring_modes, sample_toy
from gans.data.prepared import check_real, content_sha256, load_prepared, prepare_split, spec_of, to_resolution
from gans.data.domains import (DOMAIN_TASKS, ClassPairTask, DomainTask, TrainingDomains, TransformTask,
                               class_pair, edges, negative)
from gans.data.stream import BatchStream

__all__ = [
    "DATASETS", "DEBIAN_FASHION_MNIST_DIR", "IDX_FILES", "SPLITS", "DataCheckError", "DatasetSource",
    "DataUnavailableError", "RawSplit", "idx_split_from_dir", "obtain_mnist_family", "read_idx",
    "unpack_idx_into",
    "TOY_MIXTURES", "TOY_SPLIT_SEEDS", "ToyMixture", "grid_modes", "ring_modes", "sample_toy",
    "check_real", "content_sha256", "load_prepared", "prepare_split", "spec_of", "to_resolution",
    "DOMAIN_TASKS", "ClassPairTask", "DomainTask", "TrainingDomains", "TransformTask", "class_pair",
    "edges", "negative",
    "BatchStream",
]
