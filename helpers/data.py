"""Data sets as tensors in [0, 1], loaded through torchvision, and the subsets the lessons need.

MNIST ships with the series (`data/MNIST/raw/*.gz`) and is extracted on first use, offline.
Fashion-MNIST and CIFAR-10 go through torchvision's own download code; without a network the
user gets one error that names the data set, the folder and the files to put there.
"""

from __future__ import annotations

import gzip
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torchvision import datasets

from helpers.checks import check_choice, check_int, check_number
from helpers.io import DATA_DIR
from helpers.progress import notice


@dataclass(frozen=True)
class DatasetInfo:
    """What the series needs to know about a data set."""

    torchvision_class: type
    folder: str
    classes: tuple[str, ...]
    input_shape: tuple[int, int, int]
    files: tuple[str, ...]

    @property
    def n_classes(self) -> int:
        return len(self.classes)


_MNIST_FILES = (
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
)
DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        datasets.MNIST, "MNIST/raw", tuple(str(d) for d in range(10)), (1, 28, 28),
        tuple(f + ".gz" for f in _MNIST_FILES),
    ),
    "fashion_mnist": DatasetInfo(
        datasets.FashionMNIST, "FashionMNIST/raw",
        ("T-shirt", "Trouser", "Pullover", "Dress", "Coat",
         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        (1, 28, 28), tuple(f + ".gz" for f in _MNIST_FILES),
    ),
    "cifar10": DatasetInfo(
        datasets.CIFAR10, "",
        ("airplane", "automobile", "bird", "cat", "deer",
         "dog", "frog", "horse", "ship", "truck"),
        (3, 32, 32), ("cifar-10-python.tar.gz",),
    ),
}


class DatasetUnavailableError(RuntimeError):
    """A data set is neither on disk nor downloadable."""


def dataset_info(name: str) -> DatasetInfo:
    """Look up a data set by name, with an error that lists the known ones."""
    return DATASETS[check_choice(name, "dataset", DATASETS)]


def load_split(name: str, train: bool, root: Path | str = DATA_DIR) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as float32 (N, C, H, W) in [0, 1] and labels as int64 (N,)."""
    images, labels = _load_uint8(name, train, str(root))
    x = torch.from_numpy(images).float().div_(255.0)
    return x, torch.from_numpy(labels.copy())  # copies: callers may edit them in place


@lru_cache(maxsize=8)
def _load_uint8(name: str, train: bool, root: str) -> tuple[np.ndarray, np.ndarray]:
    info = dataset_info(name)
    folder = Path(root) / info.folder
    shipped = info.torchvision_class is not datasets.CIFAR10
    if shipped:
        _extract_shipped_gz(folder)
    try:
        try:
            ds = info.torchvision_class(root=root, train=train, download=True)
        except (OSError, RuntimeError, ValueError) as error:
            if not (shipped and list(folder.glob("*-ubyte.gz"))):
                raise
            # the unpacked files are a cache of the .gz files: unpack again rather than fail
            notice(f"The unpacked files in {folder} cannot be read ({type(error).__name__}: {error}); "
                   "unpacking the .gz files beside them again.")
            _extract_shipped_gz(folder, overwrite=True)
            ds = info.torchvision_class(root=root, train=train, download=True)
    except (OSError, RuntimeError, ValueError) as error:  # urllib's URLError is an OSError
        raise DatasetUnavailableError(
            f"Data set {name!r} is not in {folder} and could not be downloaded ({error}). "
            f"Put these files there and run again: {', '.join(info.files)}."
        ) from error
    data = np.asarray(ds.data, dtype=np.uint8)
    images = data[:, None] if data.ndim == 3 else data.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(images), np.asarray(ds.targets, dtype=np.int64)


def _extract_shipped_gz(raw_folder: Path, overwrite: bool = False) -> None:
    """Unpack `*.gz` idx files beside themselves when the uncompressed file is missing (or always)."""
    for archive in raw_folder.glob("*-ubyte.gz"):
        target = archive.with_suffix("")
        if overwrite or not target.exists():
            tmp = target.with_name(target.name + ".partial")
            with gzip.open(archive, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
            tmp.replace(target)


def random_subset(
    x: torch.Tensor, y: torch.Tensor, n: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random subset of `n` examples."""
    check_int(n, "n", minimum=1, maximum=len(x))
    index = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]
    return x[index], y[index]


def with_label_noise(y: torch.Tensor, fraction: float, n_classes: int, seed: int) -> torch.Tensor:
    """Copy of `y` where a seeded `fraction` of labels is replaced by a different, random class."""
    check_number(fraction, "fraction", minimum=0, maximum=1)
    generator = torch.Generator().manual_seed(seed)
    noisy = y.clone()
    n_noisy = round(fraction * len(y))
    index = torch.randperm(len(y), generator=generator)[:n_noisy]
    shift = torch.randint(1, n_classes, (n_noisy,), generator=generator)
    noisy[index] = (y[index] + shift) % n_classes
    return noisy


def holdout_split(
    x: torch.Tensor, y: torch.Tensor, n_holdout: int, seed: int
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Split off a seeded held-out set of `n_holdout` examples: ((x, y) rest, (x, y) held out)."""
    check_int(n_holdout, "n_holdout", minimum=1, maximum=len(x) - 1)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    rest, held = order[n_holdout:], order[:n_holdout]
    return (x[rest], y[rest]), (x[held], y[held])
