from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.spatial.distance import cdist, hamming
from scipy.stats import hypergeom
from torchvision.models.feature_extraction import create_feature_extractor

from helpers.bench import main as bench_main
from helpers.bitvectors import (
    RELU_LAYERS,
    PackedBits,
    fiedler_partition,
    fiedler_vector,
    hamming_similarity,
    laplacian,
    pair_separation,
    pair_separations,
    relu_bits,
    separation_accuracy,
    separation_chance,
)
from helpers.data import load_split
from helpers.models import build_model


def noisy_copies(n_per_class: int, n_classes: int, n_bits: int, flip: float, seed: int = 0):
    """Bits of `n_classes` random prototypes, each copy with a share `flip` of its bits flipped."""
    rng = np.random.default_rng(seed)
    prototypes = rng.random((n_classes, n_bits)) < 0.5
    labels = np.repeat(np.arange(n_classes), n_per_class)
    bits = prototypes[labels] ^ (rng.random((len(labels), n_bits)) < flip)
    return bits, labels


# --- packing and Hamming similarity --------------------------------------------------------------


def test_packing_keeps_the_bit_count_and_round_trips() -> None:
    bits = np.random.default_rng(0).random((5, 13)) < 0.5  # 13 bits: 2 bytes, 3 of padding
    packed = PackedBits.from_bool(bits)
    assert packed.packed.shape == (5, 2) and packed.n_bits == 13 and len(packed) == 5
    np.testing.assert_array_equal(packed.unpack(), bits)
    np.testing.assert_array_equal(packed[[4, 1]].unpack(), bits[[4, 1]])
    np.testing.assert_array_equal(packed[2].unpack(), bits[2:3])


def test_hand_made_vectors_have_their_known_hamming_similarity() -> None:
    n_bits = 13
    zeros, ones = [0] * n_bits, [1] * n_bits
    three_on = [1, 1, 1] + [0] * 10
    last_on = [0] * 12 + [1]
    vectors = np.array([zeros, ones, three_on, last_on])
    similarity = hamming_similarity(PackedBits.from_bool(vectors))
    # Unequal bits: zeros-ones 13, zeros-three_on 3, zeros-last_on 1, ones-three_on 10, ones-last_on 12,
    # three_on-last_on 4. The 3 padding bits of the second byte would add to the equal ones if counted.
    differing = np.array([[0, 13, 3, 1], [13, 0, 10, 12], [3, 10, 0, 4], [1, 12, 4, 0]])
    np.testing.assert_allclose(similarity, 1 - differing / n_bits, rtol=0, atol=1e-15)
    for i in range(4):
        for j in range(4):
            assert similarity[i, j] == pytest.approx(1 - hamming(vectors[i], vectors[j]), abs=1e-15)


@pytest.mark.parametrize("block_size", [1, 3, 7, 64])
def test_blocks_give_the_direct_result(block_size) -> None:
    rng = np.random.default_rng(1)
    a_bits, b_bits = rng.random((23, 37)) < 0.3, rng.random((11, 37)) < 0.6
    a, b = PackedBits.from_bool(a_bits), PackedBits.from_bool(b_bits)
    np.testing.assert_allclose(hamming_similarity(a, block_size=block_size),
                               1 - cdist(a_bits, a_bits, "hamming"), rtol=0, atol=1e-12)
    np.testing.assert_allclose(hamming_similarity(a, b, block_size=block_size),
                               1 - cdist(a_bits, b_bits, "hamming"), rtol=0, atol=1e-12)


def test_different_bit_counts_are_a_clear_error() -> None:
    a, b = PackedBits.from_bool([[1, 0, 1]]), PackedBits.from_bool([[1, 0, 1, 1]])
    with pytest.raises(ValueError, match=r"^b must have the bit count of a \(3\), got 4\.$"):
        hamming_similarity(a, b)


def test_bits_other_than_zero_and_one_are_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"^bits must be a 2-D array of 0/1 values"):
        PackedBits.from_bool([[0, 2, 1]])


# --- Laplacian, Fiedler vector and partition -----------------------------------------------------


def test_laplacians_follow_their_definitions_without_the_diagonal() -> None:
    w = np.array([[1.0, 0.5, 0.2], [0.5, 1.0, 0.9], [0.2, 0.9, 1.0]])
    off_diagonal = w - np.diag(np.diag(w))
    degrees = off_diagonal.sum(axis=1)
    np.testing.assert_allclose(laplacian(w, normalized=False), np.diag(degrees) - off_diagonal)
    np.testing.assert_allclose(laplacian(w), np.eye(3) - off_diagonal / np.sqrt(np.outer(degrees, degrees)))


@pytest.mark.parametrize("normalized", [True, False])
def test_fiedler_partition_separates_two_obvious_clusters(normalized) -> None:
    bits, labels = noisy_copies(n_per_class=30, n_classes=2, n_bits=200, flip=0.1)
    order = np.random.default_rng(2).permutation(len(labels))  # clusters interleaved
    bits, labels = bits[order], labels[order]
    similarity = hamming_similarity(PackedBits.from_bool(bits))
    partition = fiedler_partition(similarity, normalized)
    assert separation_accuracy(partition, labels) == 1.0
    vector = fiedler_vector(similarity, normalized)
    assert np.linalg.norm(vector) == pytest.approx(1.0)
    assert vector[np.argmax(np.abs(vector))] > 0  # the deterministic sign
    np.testing.assert_array_equal(partition, vector > 0)


@pytest.mark.parametrize("normalized", [True, False])
def test_fiedler_vector_is_the_second_eigenvector_with_its_largest_entry_positive(normalized) -> None:
    rng = np.random.default_rng(5)
    for _ in range(8):  # eigh's own sign is arbitrary: over 8 matrices some come out negative
        w = rng.random((9, 9))
        w = (w + w.T) / 2
        values, vectors = np.linalg.eigh(laplacian(w, normalized))
        vector = fiedler_vector(w, normalized)
        assert vector[np.argmax(np.abs(vector))] > 0
        np.testing.assert_allclose(np.abs(vector @ vectors[:, 1]), 1.0, atol=1e-10)
        assert values[1] > values[0] + 1e-6 and values[2] > values[1] + 1e-6  # a well-defined vector


def test_an_outlier_fools_the_unnormalized_laplacian_but_not_the_normalized_one() -> None:
    # Two clusters of 10 (within 1.0, between 0.3) and one input of the first class with similarity
    # 0.1 to everything: the unnormalized Fiedler vector isolates that weakly connected input.
    m = 10
    labels = np.array([0] * m + [1] * m + [0])
    same = labels[:, None] == labels[None, :]
    similarity = np.where(same, 1.0, 0.3)
    similarity[-1, :] = similarity[:, -1] = 0.1
    unnormalized = fiedler_partition(similarity, normalized=False)
    assert min(unnormalized.sum(), (~unnormalized).sum()) == 1  # the outlier alone on one side
    assert separation_accuracy(unnormalized, labels) == pytest.approx((m + 1) / (2 * m + 1))
    assert separation_accuracy(fiedler_partition(similarity), labels) >= 2 * m / (2 * m + 1)


def test_similarity_that_is_not_a_symmetric_square_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"^similarity must be a square matrix of at least 2 x 2, got shape"):
        laplacian(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"^similarity must be symmetric with no negative entry"):
        fiedler_vector([[1.0, 0.2], [0.4, 1.0]])


# --- separation accuracy and digit pairs ---------------------------------------------------------


def test_separation_accuracy_takes_the_better_assignment() -> None:
    labels = np.array([3, 3, 3, 8, 8, 8])
    assert separation_accuracy([True, True, True, False, False, False], labels) == 1.0
    assert separation_accuracy([False, False, False, True, True, True], labels) == 1.0  # inverted
    assert separation_accuracy([True, False, True, False, True, False], labels) == pytest.approx(4 / 6)
    assert separation_accuracy([True, True, False, False, False, True], labels) == pytest.approx(4 / 6)
    assert separation_accuracy([True, False, True, True, False, True], labels) == 0.5  # chance


def test_separation_accuracy_needs_exactly_two_classes() -> None:
    with pytest.raises(ValueError, match=r"^labels must take exactly two values, got 3: \[1, 2, 3\]\.$"):
        separation_accuracy([True, False, True], [1, 2, 3])
    with pytest.raises(ValueError, match=r"^labels must have the shape of partition \(2,\), got \(3,\)\.$"):
        separation_accuracy([True, False], [1, 2, 1])


def test_pair_separations_cover_every_pair_of_classes() -> None:
    bits, labels = noisy_copies(n_per_class=15, n_classes=4, n_bits=120, flip=0.1, seed=3)
    similarity = hamming_similarity(PackedBits.from_bool(bits))
    separations = pair_separations(similarity, labels)
    assert list(separations) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert all(accuracy == 1.0 for accuracy in separations.values())
    # Bits that say nothing about the class: no better than about chance.
    noise = np.random.default_rng(4).random((60, 120)) < 0.5
    noise_similarity = hamming_similarity(PackedBits.from_bool(noise))
    assert pair_separation(noise_similarity, labels, (0, 1)) < 0.9


def test_pair_separation_needs_two_present_classes() -> None:
    similarity, labels = np.eye(4) + 0.1, np.array([0, 0, 1, 1])
    message = r"^classes must be two different labels present in labels, got \(0, 5\)\.$"
    with pytest.raises(ValueError, match=message):
        pair_separation(similarity, labels, (0, 5))
    message = r"^similarity must be 4 x 4 \(one row per label\), got shape \(3, 3\)\.$"
    with pytest.raises(ValueError, match=message):
        pair_separation(similarity[:3, :3], labels, (0, 1))


# --- bits of a real network ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model("mnist_cnn").eval()


@pytest.fixture(scope="module")
def images():
    x, _ = load_split("mnist", train=False)
    return x[:12]


def test_relu_bits_have_one_bit_per_unit_before_pooling(model, images) -> None:
    bits = relu_bits(model, images, batch_size=5, progress=False)
    assert list(bits) == list(RELU_LAYERS) == ["conv1", "conv2", "conv3", "fc"]
    assert {k: (len(v), v.n_bits) for k, v in bits.items()} == {
        "conv1": (12, 16 * 28 * 28), "conv2": (12, 32 * 14 * 14), "conv3": (12, 64 * 7 * 7), "fc": (12, 128)}
    nodes = {"block1.relu": "conv1", "block2.relu": "conv2", "block3.relu": "conv3", "fc_relu": "fc"}
    with torch.no_grad():
        direct = create_feature_extractor(model, return_nodes=nodes)(images)
    for name in RELU_LAYERS:
        expected = (direct[name] > 0).flatten(1).numpy()
        np.testing.assert_array_equal(bits[name].unpack(), expected)
        assert 0 < expected.mean() < 1  # some units on, some off: the comparison means something


def test_pooled_bits_are_the_max_pool_of_the_unpooled_ones(model, images) -> None:
    unpooled = relu_bits(model, images, layers=["conv2", "fc"], progress=False)
    pooled = relu_bits(model, images, layers=["conv2", "fc"], pooled=True, batch_size=7, progress=False)
    assert pooled["conv2"].n_bits == 32 * 7 * 7
    conv2 = torch.from_numpy(unpooled["conv2"].unpack(np.float32)).view(-1, 32, 14, 14)
    expected = F.max_pool2d(conv2, 2).flatten(1).numpy().astype(bool)
    np.testing.assert_array_equal(pooled["conv2"].unpack(), expected)
    np.testing.assert_array_equal(pooled["fc"].packed, unpooled["fc"].packed)  # fc has no pooling


@pytest.mark.parametrize("layer", ["logits", "conv9"])
def test_a_layer_that_is_not_a_relu_is_a_clear_error(model, images, layer) -> None:
    message = (r"^layers\[0\] must be one of 'conv1', 'conv2', 'conv3', 'fc' \(ReLU layers\), "
               rf"got '{layer}'\.$")
    with pytest.raises(ValueError, match=message):
        relu_bits(model, images, layers=[layer], progress=False)


def test_bench_bitvectors_command_line(capsys) -> None:
    bench_main("bitvectors --n-inputs 40 --cdist-rows 10 --per-class 4".split())
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "(timed on 10 rows, scaled)" in lines[0]
    match = re.fullmatch(r"hamming_seconds=\S+ cdist_seconds=\S+ cdist_rows=10 speedup=\S+ "
                         r"max_abs_similarity_diff=(\S+) fiedler_45_pairs_seconds=\S+", lines[-1])
    assert match and float(match.group(1)) <= 1e-12


def test_separation_chance_of_two_halves_matches_the_hypergeometric_law() -> None:
    # a split into two halves of 100 + 100 images: the first half holds k images of class 0, with k
    # hypergeometric, and scores max(k, 100 - k) / 100
    k = np.arange(101)
    probability = hypergeom(200, 100, 100).pmf(k)
    accuracy = np.maximum(k, 100 - k) / 100
    chance = separation_chance(np.arange(200) < 100, np.repeat([3, 8], 100), n_permutations=20000, seed=1)
    assert chance.mean() == pytest.approx((probability * accuracy).sum(), abs=0.002)      # about 0.528
    order = np.argsort(accuracy)
    exact_p95 = accuracy[order][np.searchsorted(np.cumsum(probability[order]), 0.95)]     # about 0.57
    assert np.percentile(chance, 95) == pytest.approx(exact_p95, abs=0.011)


def test_separation_chance_is_lower_for_a_lopsided_split() -> None:
    labels = np.repeat([0, 1], 100)
    halves = separation_chance(np.arange(200) < 100, labels, seed=2).mean()
    lopsided = separation_chance(np.arange(200) < 10, labels, seed=2).mean()
    assert lopsided < halves - 0.01
