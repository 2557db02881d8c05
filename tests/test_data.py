"""Tests of helpers.data: the shipped MNIST files, torchvision's on-disk formats, the offline
error, and the seeded subsets. Nothing here may reach the network (see `no_network`)."""

from __future__ import annotations

import gzip
import hashlib
import pickle
import shutil
import socket
import struct
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision import datasets

import helpers.data as data_module
from helpers.data import (
    DATASETS,
    DatasetUnavailableError,
    dataset_info,
    holdout_split,
    load_split,
    random_subset,
    with_label_noise,
)
from helpers.io import DATA_DIR

MNIST_RAW = DATA_DIR / "MNIST" / "raw"
IDX_NAMES = (
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
)
MNIST_TRAIN_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
MNIST_IDX_SHA256 = {
    "train-images-idx3-ubyte":
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte":
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte":
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte":
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


# --------------------------------------------------------------------------- fixtures, helpers


class _NetworkUsed(AssertionError):
    pass


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every URL open raises URLError and every socket connect fails; the calls are recorded."""
    calls: list[str] = []

    def fake_urlopen(url, *args, **kwargs):
        calls.append(getattr(url, "full_url", url))
        raise urllib.error.URLError("no network")

    def fake_connect(self, *args, **kwargs):
        raise _NetworkUsed(f"a test tried to open a socket to {args}")

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    monkeypatch.setattr(socket.socket, "connect", fake_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", fake_connect)
    return calls


@pytest.fixture
def fresh_cache():
    """`_load_uint8` is cached on (name, train, root); start and end the test with it empty."""
    data_module._load_uint8.cache_clear()
    yield
    data_module._load_uint8.cache_clear()


@pytest.fixture(scope="module")
def mnist_train() -> tuple[torch.Tensor, torch.Tensor]:
    return load_split("mnist", True)


@pytest.fixture(scope="module")
def mnist_test() -> tuple[torch.Tensor, torch.Tensor]:
    return load_split("mnist", False)


def idx_bytes(array: np.ndarray) -> bytes:
    """An idx1/idx3-ubyte file: big-endian magic (0x08 = ubyte, then the rank), dims, data."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">i", 0x0800 + array.ndim) + struct.pack(f">{array.ndim}i", *array.shape)
    return header + array.tobytes()


def random_mnist_like(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 27, 27] = 0, 255  # both ends of the range
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    return images, labels


def write_idx_gz(raw: Path, split: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Write `<split>-images-idx3-ubyte.gz` and `<split>-labels-idx1-ubyte.gz` into `raw`."""
    raw.mkdir(parents=True, exist_ok=True)
    (raw / f"{split}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
    (raw / f"{split}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))


def sha256(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def assert_images_roundtrip(x: torch.Tensor, written: np.ndarray) -> None:
    expected = torch.from_numpy(np.array(written, dtype=np.uint8))
    assert x.dtype == torch.float32
    assert torch.equal((x * 255).round().to(torch.uint8), expected)
    assert torch.equal(x, expected.float() / 255)


# --------------------------------------------------------------------------- 1. shipped MNIST


def test_mnist_train_split_shapes_types_and_range(mnist_train):
    x, y = mnist_train
    assert x.shape == (60000, 1, 28, 28)
    assert x.dtype == torch.float32
    assert y.shape == (60000,)
    assert y.dtype == torch.int64
    assert float(x.min()) == 0.0
    assert float(x.max()) == 1.0
    assert tuple(x.shape[1:]) == dataset_info("mnist").input_shape


def test_mnist_train_labels_have_known_class_counts(mnist_train):
    _, y = mnist_train
    assert int(y.min()) == 0 and int(y.max()) == 9
    assert tuple(torch.bincount(y, minlength=10).tolist()) == MNIST_TRAIN_COUNTS


def test_mnist_test_split(mnist_test):
    x, y = mnist_test
    assert x.shape == (10000, 1, 28, 28)
    assert x.dtype == torch.float32
    assert y.shape == (10000,) and y.dtype == torch.int64
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    assert set(y.unique().tolist()) == set(range(10))


def test_mnist_pixels_are_the_idx_bytes_over_255(mnist_test):
    """x * 255 reproduces the uncompressed idx file byte for byte."""
    x, y = mnist_test
    images = gzip.decompress((MNIST_RAW / "t10k-images-idx3-ubyte.gz").read_bytes())
    labels = gzip.decompress((MNIST_RAW / "t10k-labels-idx1-ubyte.gz").read_bytes())
    pixels = np.frombuffer(images, dtype=np.uint8, offset=16).reshape(10000, 28, 28)
    assert_images_roundtrip(x[:, 0], pixels)
    expected_labels = np.frombuffer(labels, np.uint8, offset=8).astype(np.int64)
    assert torch.equal(y, torch.from_numpy(expected_labels))


def test_mnist_gz_files_match_sha256sums():
    listed = {}
    for line in (MNIST_RAW / "SHA256SUMS").read_text().splitlines():
        if line.strip():
            digest, name = line.split()
            listed[name.lstrip("*")] = digest
    assert set(listed) == {name + ".gz" for name in IDX_NAMES}
    assert set(listed) == set(dataset_info("mnist").files)
    for name, digest in listed.items():
        assert sha256((MNIST_RAW / name).read_bytes()) == digest, name


@pytest.mark.parametrize("name", IDX_NAMES)
def test_mnist_gz_decompresses_to_known_idx_file(name):
    raw = gzip.decompress((MNIST_RAW / f"{name}.gz").read_bytes())
    assert sha256(raw) == MNIST_IDX_SHA256[name]
    extracted = MNIST_RAW / name
    if extracted.exists():  # extracted on an earlier run: must be the same bytes
        assert sha256(extracted.read_bytes()) == MNIST_IDX_SHA256[name]


# --------------------------------------------------------------------------- 2. extraction


@pytest.fixture
def gz_only_root(tmp_path):
    """<tmp>/MNIST/raw with only .gz files: the shipped test split and a 7-image train split."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copyfile(MNIST_RAW / name, raw / name)
    # torchvision checks that the files of *both* splits exist; small own ones for the train split
    train_images, train_labels = random_mnist_like(7, seed=1)
    write_idx_gz(raw, "train", train_images, train_labels)
    return tmp_path, train_images, train_labels


def test_mnist_extracted_from_gz_only(gz_only_root, fresh_cache, mnist_test, no_network):
    """Only .gz files in <root>/MNIST/raw: load_split unpacks them and loads, offline."""
    tmp_path, train_images, train_labels = gz_only_root
    raw = tmp_path / "MNIST" / "raw"
    assert not list(raw.glob("*-ubyte"))

    x, y = load_split("mnist", False, root=tmp_path)

    for name in IDX_NAMES:
        assert sha256((raw / name).read_bytes()) == sha256(
            gzip.decompress((raw / f"{name}.gz").read_bytes())
        )
    assert not list(raw.glob("*.partial"))
    assert torch.equal(x, mnist_test[0])
    assert torch.equal(y, mnist_test[1])

    x_train, y_train = load_split("mnist", True, root=str(tmp_path))
    assert x_train.shape == (7, 1, 28, 28)
    assert_images_roundtrip(x_train[:, 0], train_images)
    assert torch.equal(y_train, torch.from_numpy(train_labels.astype(np.int64)))
    assert no_network == []


def test_existing_uncompressed_file_is_not_overwritten(tmp_path, fresh_cache):
    raw = tmp_path / "MNIST" / "raw"
    gz_images, gz_labels = random_mnist_like(4, seed=2)
    disk_images, disk_labels = random_mnist_like(5, seed=3)
    write_idx_gz(raw, "train", gz_images, gz_labels)
    write_idx_gz(raw, "t10k", gz_images, gz_labels)
    (raw / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(disk_images))
    (raw / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(disk_labels))

    x, y = load_split("mnist", False, root=tmp_path)
    assert x.shape == (5, 1, 28, 28)
    assert_images_roundtrip(x[:, 0], disk_images)
    assert torch.equal(y, torch.from_numpy(disk_labels.astype(np.int64)))



@pytest.mark.parametrize("size", [0, 100])
def test_unreadable_unpacked_file_is_unpacked_again(gz_only_root, fresh_cache, mnist_test, capsys, size):
    """The unpacked idx files are a cache of the shipped .gz files: a truncated one is rebuilt."""
    tmp_path = gz_only_root[0]
    raw = tmp_path / "MNIST" / "raw"
    load_split("mnist", False, root=tmp_path)
    data_module._load_uint8.cache_clear()
    images = raw / "t10k-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:size])

    x, y = load_split("mnist", False, root=tmp_path)

    assert torch.equal(x, mnist_test[0]) and torch.equal(y, mnist_test[1])
    assert f"The unpacked files in {raw} cannot be read" in capsys.readouterr().out

# --------------------------------------------------------------------------- 3. Fashion-MNIST


@pytest.fixture
def fashion_root(tmp_path, fresh_cache):
    raw = tmp_path / "FashionMNIST" / "raw"
    splits = {"train": random_mnist_like(9, seed=10), "t10k": random_mnist_like(6, seed=11)}
    for split, (images, labels) in splits.items():
        write_idx_gz(raw, split, images, labels)
    assert sorted(p.name for p in raw.iterdir()) == sorted(dataset_info("fashion_mnist").files)
    return tmp_path, splits


@pytest.mark.parametrize("train", [True, False])
def test_fashion_mnist_roundtrip(fashion_root, train, no_network):
    root, splits = fashion_root
    images, labels = splits["train" if train else "t10k"]
    x, y = load_split("fashion_mnist", train, root=root)
    assert x.shape == (len(images), 1, 28, 28)
    assert_images_roundtrip(x[:, 0], images)
    assert y.dtype == torch.int64
    assert torch.equal(y, torch.from_numpy(labels.astype(np.int64)))
    assert no_network == []


def test_fashion_mnist_info():
    info = dataset_info("fashion_mnist")
    assert info.n_classes == 10
    assert info.input_shape == (1, 28, 28)
    assert info.torchvision_class is datasets.FashionMNIST


def test_returned_labels_do_not_alias_the_cache(fashion_root):
    """Editing the returned tensors in place must not change what the next call returns."""
    root, splits = fashion_root
    images, labels = splits["train"]
    x, y = load_split("fashion_mnist", True, root=root)
    x.zero_()
    y.add_(1)
    x2, y2 = load_split("fashion_mnist", True, root=root)
    assert_images_roundtrip(x2[:, 0], images)
    assert torch.equal(y2, torch.from_numpy(labels.astype(np.int64)))


# --------------------------------------------------------------------------- 4. CIFAR-10


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def cifar_root(tmp_path, monkeypatch, fresh_cache):
    """`cifar-10-batches-py` in torchvision's format; its md5 table patched to the files written."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(20)
    batches = {}
    for i, name in enumerate([f"data_batch_{j}" for j in range(1, 6)] + ["test_batch"]):
        n = 2 + i % 3
        rows = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=n)]
        batches[name] = (rows, labels)
        with open(folder / name, "wb") as f:
            pickle.dump({"batch_label": name, "data": rows, "labels": labels}, f)
    classes = list(dataset_info("cifar10").classes)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": classes, "num_vis": 3072}, f)

    train_list = [[f"data_batch_{i}", _md5(folder / f"data_batch_{i}")] for i in range(1, 6)]
    test_list = [["test_batch", _md5(folder / "test_batch")]]
    monkeypatch.setattr(datasets.CIFAR10, "train_list", train_list)
    monkeypatch.setattr(datasets.CIFAR10, "test_list", test_list)
    monkeypatch.setattr(
        datasets.CIFAR10, "meta",
        {"filename": "batches.meta", "key": "label_names", "md5": _md5(folder / "batches.meta")},
    )
    return tmp_path, batches


@pytest.mark.parametrize("train", [True, False])
def test_cifar10_roundtrip(cifar_root, train, no_network):
    root, batches = cifar_root
    names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    rows = np.concatenate([batches[name][0] for name in names])
    labels = [label for name in names for label in batches[name][1]]

    x, y = load_split("cifar10", train, root=root)

    assert x.shape == (len(rows), 3, 32, 32)
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.is_contiguous()
    assert_images_roundtrip(x, rows.reshape(-1, 3, 32, 32))
    assert y.tolist() == labels
    # CHW: byte c*1024 + r*32 + k of a row is channel c, row r, column k
    for i, c, r, k in [(0, 0, 0, 1), (1, 2, 31, 0), (len(rows) - 1, 1, 5, 30)]:
        assert float(x[i, c, r, k]) == pytest.approx(rows[i, c * 1024 + r * 32 + k] / 255)
    assert tuple(x.shape[1:]) == dataset_info("cifar10").input_shape
    assert no_network == []


# --------------------------------------------------------------------------- 5. no network


@pytest.mark.parametrize("name", ["fashion_mnist", "cifar10"])
def test_offline_download_gives_one_clear_error(tmp_path, fresh_cache, no_network, name):
    info = dataset_info(name)
    with pytest.raises(DatasetUnavailableError) as caught:
        load_split(name, True, root=tmp_path)
    message = str(caught.value)
    assert repr(name) in message
    assert str(tmp_path / info.folder) in message
    for file in info.files:
        assert file in message
    assert "no network" in message
    assert no_network, "the real download code should have tried to open a URL"
    assert all(url.startswith("http") for url in no_network)
    assert isinstance(caught.value.__cause__, (OSError, RuntimeError))


def test_dataset_unavailable_is_a_runtime_error():
    assert issubclass(DatasetUnavailableError, RuntimeError)


# --------------------------------------------------------------------------- 6. unknown names


def test_unknown_dataset_names(fresh_cache):
    for call in (lambda: load_split("imagenet", True), lambda: dataset_info("nope")):
        with pytest.raises(ValueError) as caught:
            call()
        for known in ("mnist", "fashion_mnist", "cifar10"):
            assert known in str(caught.value)
    assert set(DATASETS) == {"mnist", "fashion_mnist", "cifar10"}


# --------------------------------------------------------------------------- 7-9. subsets


@pytest.fixture
def toy() -> tuple[torch.Tensor, torch.Tensor]:
    """50 distinct rows; y[i] == i, so every row can be traced back to its index."""
    x = torch.arange(50 * 3, dtype=torch.float32).reshape(50, 3)
    return x, torch.arange(50)


def test_random_subset_is_seeded_rows_of_the_original(toy):
    x, y = toy
    xs, ys = random_subset(x, y, 20, seed=0)
    assert xs.shape == (20, 3) and ys.shape == (20,)
    assert len(set(ys.tolist())) == 20  # without replacement
    assert torch.equal(xs, x[ys])  # pairs (x, y) kept together
    again = random_subset(x, y, 20, seed=0)
    assert torch.equal(again[0], xs) and torch.equal(again[1], ys)
    other = random_subset(x, y, 20, seed=1)
    assert not torch.equal(other[1], ys)
    full = random_subset(x, y, 50, seed=3)[1]
    assert sorted(full.tolist()) == list(range(50))


def test_random_subset_on_mnist_keeps_pairs(mnist_test):
    x, y = mnist_test
    xs, ys = random_subset(x, y, 100, seed=5)
    index = torch.randperm(len(x), generator=torch.Generator().manual_seed(5))[:100]
    assert torch.equal(xs, x[index]) and torch.equal(ys, y[index])


@pytest.mark.parametrize("n", [0, -1, 51])
def test_random_subset_bad_size(toy, n):
    with pytest.raises(ValueError):
        random_subset(*toy, n, seed=0)


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5, 0.77, 1.0])
def test_label_noise_changes_exactly_the_fraction(fraction):
    y = torch.arange(200) % 10
    noisy = with_label_noise(y, fraction, n_classes=10, seed=4)
    assert noisy.shape == y.shape and noisy.dtype == y.dtype
    changed = noisy != y
    assert int(changed.sum()) == round(fraction * len(y))
    assert int(noisy.min()) >= 0 and int(noisy.max()) <= 9
    assert torch.equal(y, torch.arange(200) % 10)  # input untouched


def test_label_noise_zero_seeded_and_spread(mnist_test):
    _, y = mnist_test
    assert torch.equal(with_label_noise(y, 0.0, 10, seed=0), y)
    a = with_label_noise(y, 0.3, 10, seed=0)
    assert torch.equal(a, with_label_noise(y, 0.3, 10, seed=0))
    b = with_label_noise(y, 0.3, 10, seed=1)
    assert not torch.equal(a, b)
    assert int((a != y).sum()) == 3000
    # every wrong class is used, not a fixed shift
    offsets = ((a - y) % 10)[a != y]
    assert set(offsets.tolist()) == set(range(1, 10))


@pytest.mark.parametrize("fraction", [-0.01, 1.01, 2.0])
def test_label_noise_bad_fraction(fraction):
    with pytest.raises(ValueError):
        with_label_noise(torch.arange(10), fraction, 10, seed=0)


def test_holdout_split_is_a_seeded_partition(toy):
    x, y = toy
    (x_rest, y_rest), (x_held, y_held) = holdout_split(x, y, 15, seed=0)
    assert x_rest.shape == (35, 3) and y_rest.shape == (35,)
    assert x_held.shape == (15, 3) and y_held.shape == (15,)
    assert set(y_rest.tolist()).isdisjoint(y_held.tolist())
    assert sorted(y_rest.tolist() + y_held.tolist()) == list(range(50))
    assert torch.equal(x_rest, x[y_rest]) and torch.equal(x_held, x[y_held])
    again = holdout_split(x, y, 15, seed=0)
    assert torch.equal(again[0][1], y_rest) and torch.equal(again[1][1], y_held)
    other = holdout_split(x, y, 15, seed=1)
    assert not torch.equal(other[1][1], y_held)


@pytest.mark.parametrize("n_holdout", [0, -2, 50, 60])
def test_holdout_split_bad_size(toy, n_holdout):
    with pytest.raises(ValueError):
        holdout_split(*toy, n_holdout, seed=0)


def test_holdout_split_extremes(toy):
    x, y = toy
    assert len(holdout_split(x, y, 1, seed=0)[1][1]) == 1
    assert len(holdout_split(x, y, 49, seed=0)[0][1]) == 1
