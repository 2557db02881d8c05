"""ReLU bit vectors (Jamil et al. 2023): on/off patterns, Hamming similarity, the Fiedler partition.

A ReLU layer's bit vector for one input says which of its units are on (activation > 0). Taken
before max-pooling, every unit of the map counts; after pooling is the comparison. The network's
linear region around an input is fixed by the bits of all its layers together (and by which unit
each max-pool picks), so one layer's bits narrow it down without naming it. Bits are stored packed
(`PackedBits`, eight to a byte). The share of equal bits between two inputs is their Hamming
similarity; the graph of those similarities over a set of inputs has a Laplacian whose Fiedler vector
(the eigenvector of the second-smallest eigenvalue) splits the set in two by its sign.

>>> bits = PackedBits.from_bool([[1, 1, 0, 0, 1], [1, 0, 0, 0, 1], [0, 0, 1, 1, 0]])
>>> hamming_similarity(bits).round(2)
array([[1. , 0.8, 0. ],
       [0.8, 1. , 0.2],
       [0. , 0.2, 1. ]])
>>> separation_accuracy([True, True, False, False], labels=[3, 3, 8, 8])
1.0
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.linalg
import scipy.sparse.csgraph
import torch
from torch import nn
from torchvision.models.feature_extraction import create_feature_extractor

from helpers.checks import check_finite, check_int, check_sequence
from helpers.progress import track

__all__ = [
    "RELU_LAYERS",
    "PackedBits",
    "fiedler_partition",
    "fiedler_vector",
    "hamming_similarity",
    "laplacian",
    "pair_separation",
    "pair_separations",
    "relu_bits",
    "separation_accuracy",
    "separation_chance",
]

RELU_LAYERS = ("conv1", "conv2", "conv3", "fc")
MAX_EXACT_BITS = 2**24  # counts up to this are exact in float32, the type of the matrix product


@dataclass(frozen=True, eq=False)
class PackedBits:
    """Bit vectors of many inputs, one row each, packed by `numpy.packbits` along the row.

    `n_bits` is the length of each vector: the last byte of a row is padded with zeros up to a
    multiple of 8, and the padding never counts.
    """

    packed: np.ndarray  # uint8, (n_inputs, ceil(n_bits / 8))
    n_bits: int

    def __post_init__(self) -> None:
        check_int(self.n_bits, "n_bits", minimum=1)
        shape = (-1, -(-self.n_bits // 8))
        if self.packed.dtype != np.uint8 or self.packed.ndim != 2 or self.packed.shape[1] != shape[1]:
            raise ValueError(f"packed must be a uint8 array of shape (n_inputs, {shape[1]}) for "
                             f"{self.n_bits} bits, got {self.packed.dtype} of shape {self.packed.shape}.")

    @classmethod
    def from_bool(cls, bits: Any) -> PackedBits:
        """Pack a (n_inputs, n_bits) array of booleans or 0/1 values.

        >>> PackedBits.from_bool([[1, 0, 1], [0, 0, 1]])
        PackedBits(n_inputs=2, n_bits=3)
        """
        array = np.asarray(bits)
        if array.ndim != 2 or array.shape[1] == 0 or not np.isin(array, (0, 1)).all():
            raise ValueError(f"bits must be a 2-D array of 0/1 values with at least one column, "
                             f"got shape {array.shape} with values {np.unique(array)[:5]}.")
        return cls(np.packbits(array.astype(bool), axis=1), array.shape[1])

    def unpack(self, dtype: npt.DTypeLike = bool) -> np.ndarray:
        """The bits as a (n_inputs, n_bits) array of `dtype`, without the padding."""
        return np.unpackbits(self.packed, axis=1, count=self.n_bits).astype(dtype, copy=False)

    def __len__(self) -> int:
        return len(self.packed)

    def __getitem__(self, rows: Any) -> PackedBits:
        """The bit vectors of some inputs: a slice, indices or a boolean mask."""
        return PackedBits(self.packed[rows].reshape(-1, self.packed.shape[1]), self.n_bits)

    def __repr__(self) -> str:
        return f"PackedBits(n_inputs={len(self)}, n_bits={self.n_bits})"


def _check_relu_layer(value: Any, name: str) -> str:
    if value not in RELU_LAYERS:
        allowed = ", ".join(repr(layer) for layer in RELU_LAYERS)
        raise ValueError(f"{name} must be one of {allowed} (ReLU layers), got {value!r}.")
    return value


def _bit_nodes(model: nn.Module, layers: Sequence[str], pooled: bool) -> dict[str, str]:
    """Feature-extraction node of each layer: its ReLU, or the max-pool after it when `pooled`."""
    nodes = {}
    for node, name in model.probe_nodes.items():
        if name in layers:
            if pooled and node.endswith(".relu"):  # a conv block's ReLU is followed by its pool
                node = node.removesuffix(".relu") + ".pool"
            nodes[node] = name
    return nodes


@torch.no_grad()
def relu_bits(
    model: nn.Module,
    x: torch.Tensor,
    layers: Sequence[str] | None = None,
    pooled: bool = False,
    batch_size: int = 500,
    progress: bool = True,
) -> dict[str, PackedBits]:
    """On/off pattern (activation > 0) of every unit of the ReLU `layers` (default: all) for `x`.

    `pooled=False` takes every unit of the map before max-pooling; `pooled=True` the
    max-pooled map, whose unit is on when any unit of its window is. `fc` has no pooling: its bits
    are the same either way. Runs in batches on the model's device; only packed bits are kept.
    """
    check_int(batch_size, "batch_size", minimum=1)
    if len(x) == 0:
        raise ValueError("x must hold at least one input, got 0.")
    layers = list(RELU_LAYERS) if layers is None else check_sequence(layers, "layers", _check_relu_layer)
    extractor = create_feature_extractor(model, return_nodes=_bit_nodes(model, layers, pooled)).eval()
    device = next(model.parameters()).device
    chunks: dict[str, list[np.ndarray]] = {name: [] for name in layers}
    starts = range(0, len(x), batch_size)
    for start in track(starts, desc="ReLU bits", unit="batch", enabled=progress, leave=False):
        outputs = extractor(x[start:start + batch_size].to(device))
        for name in layers:
            on = (outputs[name] > 0).flatten(1).cpu().numpy()
            chunks[name].append(np.packbits(on, axis=1))
    n_bits = {name: int(np.prod(outputs[name].shape[1:])) for name in layers}
    return {name: PackedBits(np.concatenate(chunks[name]), n_bits[name]) for name in layers}


def _signs(packed: np.ndarray, n_bits: int) -> np.ndarray:
    """Bits as float32 -1/+1, so that a dot product counts equal minus unequal bits."""
    return np.unpackbits(packed, axis=1, count=n_bits).astype(np.float32) * 2 - 1


def hamming_similarity(a: PackedBits, b: PackedBits | None = None, block_size: int = 1024) -> np.ndarray:
    """Share of equal bits between every input of `a` and every input of `b` (default: `a` itself).

    Returns float64 (len(a), len(b)), equal to ``1 - scipy.spatial.distance.cdist(bits_a, bits_b,
    "hamming")``. Computed block by block (`block_size` inputs of each side), so memory beyond the
    result stays at two float32 blocks of unpacked bits; with `b` left out only the blocks on and
    above the diagonal are computed. Each block is one float32 matrix product on -1/+1 bits, which is
    equal bits minus unequal bits (``a.b + (1-a).(1-b)`` and its complement in one product), exact
    since counts stay below 2**24. Measured on this series' 2-core CPU with one BLAS thread, 1,000 x
    1,000 inputs of 12,544 bits: the matrix product took 0.36 s, a popcount of XORed packed 64-bit
    words (`numpy.bitwise_count`) 0.68 s, so the product is used.

    >>> bits = PackedBits.from_bool([[0] * 10, [1] * 10, [1] * 5 + [0] * 5])
    >>> hamming_similarity(bits[:1], bits)
    array([[1. , 0. , 0.5]])
    """
    check_int(block_size, "block_size", minimum=1)
    symmetric = b is None
    b = a if b is None else b
    if b.n_bits != a.n_bits:
        raise ValueError(f"b must have the bit count of a ({a.n_bits}), got {b.n_bits}.")
    n_bits = a.n_bits
    if n_bits > MAX_EXACT_BITS:
        raise ValueError(f"n_bits must be at most {MAX_EXACT_BITS} (exact float32 counts), got {n_bits}.")
    similarity = np.empty((len(a), len(b)))
    for i in range(0, len(a), block_size):
        signs_a = _signs(a.packed[i:i + block_size], n_bits)
        for j in range(i if symmetric else 0, len(b), block_size):
            signs_b = signs_a if symmetric and j == i else _signs(b.packed[j:j + block_size], n_bits)
            block = ((signs_a @ signs_b.T).astype(np.float64) + n_bits) / (2 * n_bits)
            similarity[i:i + block_size, j:j + block_size] = block
            if symmetric and j != i:
                similarity[j:j + block_size, i:i + block_size] = block.T
    return similarity


def _check_similarity(similarity: Any) -> np.ndarray:
    matrix = check_finite(np.asarray(similarity, dtype=float), "similarity")
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or len(matrix) < 2:
        raise ValueError(f"similarity must be a square matrix of at least 2 x 2, got shape {matrix.shape}.")
    if (matrix < 0).any() or not np.allclose(matrix, matrix.T):
        raise ValueError("similarity must be symmetric with no negative entry, got an asymmetric or "
                         f"negative matrix (smallest entry {matrix.min():.3g}).")
    return matrix


def laplacian(similarity: Any, normalized: bool = True) -> np.ndarray:
    """Graph Laplacian of the complete graph weighted by `similarity` (its diagonal is ignored).

    Unnormalized ``L = D - W``; normalized ``I - D^(-1/2) W D^(-1/2)``, with W the similarity without
    its diagonal and D the diagonal matrix of its row sums (scipy.sparse.csgraph.laplacian).

    >>> laplacian([[1, 0.5], [0.5, 1]], normalized=False)
    array([[ 0.5, -0.5],
           [-0.5,  0.5]])
    """
    return scipy.sparse.csgraph.laplacian(_check_similarity(similarity), normed=normalized)


def fiedler_vector(similarity: Any, normalized: bool = True) -> np.ndarray:
    """Unit eigenvector of the second-smallest eigenvalue of the `laplacian` of `similarity`.

    Its sign is fixed so that its largest-magnitude entry (the first, on ties) is positive. For the
    normalized Laplacian, ``D^(-1/2)`` times it solves the relaxed normalized cut; the signs agree.
    """
    _, vectors = scipy.linalg.eigh(laplacian(similarity, normalized), subset_by_index=[1, 1])
    vector = vectors[:, 0]
    return vector if vector[np.argmax(np.abs(vector))] > 0 else -vector


def fiedler_partition(similarity: Any, normalized: bool = True) -> np.ndarray:
    """Two-way split of the inputs by the sign of the `fiedler_vector`: True where it is positive.

    >>> two_pairs = [[1, .9, .1, .1], [.9, 1, .1, .1], [.1, .1, 1, .9], [.1, .1, .9, 1]]
    >>> fiedler_partition(two_pairs).tolist()
    [True, True, False, False]
    """
    return fiedler_vector(similarity, normalized) > 0


def separation_accuracy(partition: Any, labels: Any) -> float:
    """Share of inputs whose side of `partition` matches their class, under the better of the two
    assignments of sides to classes (so at least 0.5); `labels` take exactly two values.

    >>> separation_accuracy([True, False, True, False], labels=["a", "a", "b", "b"])
    0.5
    """
    partition = np.asarray(partition, dtype=bool)
    labels = np.asarray(labels)
    if partition.ndim != 1:
        raise ValueError(f"partition must be 1-D, got shape {partition.shape}.")
    if labels.shape != partition.shape:
        raise ValueError(f"labels must have the shape of partition {partition.shape}, got {labels.shape}.")
    classes = np.unique(labels)
    if len(classes) != 2:
        raise ValueError(f"labels must take exactly two values, got {len(classes)}: {classes.tolist()[:10]}.")
    agreement = float(np.mean(partition == (labels == classes[0])))
    return max(agreement, 1.0 - agreement)


def separation_chance(
    partition: Any, labels: Any, n_permutations: int = 2000, seed: int = 0
) -> np.ndarray:
    """`separation_accuracy` of `partition` against `n_permutations` seeded shuffles of `labels`: the
    accuracies a split scores by chance, with its side sizes and the classes' sizes.

    A random split is right for more than half of the inputs on average, because the better of the two
    assignments is taken: for 2 + 2 inputs it scores 1 with probability 1/3 and 0.5 otherwise.

    >>> chance = separation_chance([True, True, False, False], [0, 0, 1, 1], n_permutations=30000)
    >>> float(chance.mean().round(2))
    0.67
    """
    check_int(n_permutations, "n_permutations", minimum=1)
    partition, labels = np.asarray(partition, dtype=bool), np.asarray(labels)
    separation_accuracy(partition, labels)                       # checks the shapes and the two classes
    shuffled = np.random.default_rng(seed).permuted(np.tile(labels == labels[0], (n_permutations, 1)), axis=1)
    agreement = (shuffled == partition).mean(axis=1)
    return np.maximum(agreement, 1 - agreement)


def pair_separation(
    similarity: Any, labels: Any, classes: tuple[Any, Any], normalized: bool = True
) -> float:
    """`separation_accuracy` of the Fiedler partition of the inputs of two `classes` only.

    `similarity` is over all inputs (e.g. `hamming_similarity` of one layer's bits), `labels` their
    classes; the graph is restricted to the inputs of the two classes.
    """
    labels = np.asarray(labels)
    matrix = np.asarray(similarity)
    if matrix.shape != (len(labels), len(labels)):
        raise ValueError(f"similarity must be {len(labels)} x {len(labels)} (one row per label), "
                         f"got shape {matrix.shape}.")
    present = set(np.unique(labels).tolist())
    if len(classes) != 2 or classes[0] == classes[1] or not set(classes) <= present:
        raise ValueError(f"classes must be two different labels present in labels, got {classes!r}.")
    rows = np.flatnonzero(np.isin(labels, classes))
    partition = fiedler_partition(matrix[np.ix_(rows, rows)], normalized)
    return separation_accuracy(partition, labels[rows])


def pair_separations(
    similarity: Any, labels: Any, normalized: bool = True
) -> dict[tuple[Any, Any], float]:
    """`pair_separation` of every pair of classes in `labels` (45 pairs for ten digits), keyed by pair."""
    classes = np.unique(labels).tolist()
    return {pair: pair_separation(similarity, labels, pair, normalized)
            for pair in itertools.combinations(classes, 2)}
