"""Benchmarks of the series' helpers: ``python -m helpers.bench <name> [options]``.

Each benchmark is an entry of `BENCHMARKS`: it adds its options to its own subcommand and prints
its result as the last line, ``key=value`` pairs separated by spaces.

``som``: MiniSom's ``train_batch_offline`` against `helpers.som.train_batch` on a layer-sized
problem, from the same PCA initial weights.

``bitvectors``: `helpers.bitvectors.hamming_similarity` against ``scipy.spatial.distance.cdist(...,
"hamming")`` on the conv1 bits (before pooling) of MNIST test images, and the time of the 45-pair
Fiedler analysis of every ReLU layer; the model is untrained (seeded), which changes no timing.

``robust``: the robust accuracy of one member of a lesson-06 model family on the whole MNIST test set
(or its first ``--n-test`` images), under the series' PGD with one random start and with restarts,
each with its 95% Wilson interval; the member is trained first when it is not cached.

``adversarial_training``: the two results of adversarial training that take minutes to show, trained
from scratch and written to ``figures/bench/adversarial_training.json`` (a fast test reads that record):
FGSM-RS at epsilon 0.2 against standard training (seed 0, 5,000 images, 3 epochs), and one epoch of
Wong et al.'s recipe at 0.3 with its random start left unclipped and clipped. Robust accuracy is the
training record's: PGD-40 with a random start on the first 500 test images, with a 95% Wilson interval.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from minisom import MiniSom
from scipy.spatial.distance import cdist

from helpers.attacks import robust_inputs
from helpers.bitvectors import RELU_LAYERS, hamming_similarity, pair_separations, relu_bits
from helpers.consistency import sweep_models
from helpers.data import load_split, random_subset
from helpers.family import FAMILIES, WONG_MNIST, model_family
from helpers.io import FIGURES_DIR, save_json
from helpers.metrics import wilson_interval
from helpers.models import build_model, predict_logits
from helpers.robustness import RECORD as ROBUSTNESS_RECORD
from helpers.robustness import Evaluation, robustness_record
from helpers.som import train_batch
from helpers.training import (
    CHECKPOINT_DIR,
    ROBUST_EVALUATION,
    TrainConfig,
    evaluate,
    load_or_train,
    robust_evaluation,
    train,
)

__all__ = ["ADVERSARIAL_TRAINING", "ADVERSARIAL_TRAINING_RECORD", "BENCHMARKS", "ROBUSTNESS_RECORD",
           "Benchmark", "main", "robustness_models", "synthetic_relu_layer"]


@dataclass(frozen=True)
class Benchmark:
    """A named benchmark: its help text, its options and the function that runs it."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], None]


def synthetic_relu_layer(
    n_samples: int, n_features: int, n_clusters: int = 10, seed: int = 0
) -> np.ndarray:
    """Standardized ReLU activations of a seeded gaussian mixture, float64 (n_samples, n_features).

    Cluster centres and within-cluster noise are standard normal; after the ReLU each feature is
    centred and scaled to unit variance (constant features are only centred).
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, n_features))
    labels = rng.integers(0, n_clusters, n_samples)
    x = np.maximum(centres[labels] + rng.standard_normal((n_samples, n_features)), 0.0)
    x -= x.mean(axis=0)
    std = x.std(axis=0)
    x /= np.where(std > 0, std, 1.0)
    return x


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _som_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--n-samples", type=_positive_int, default=10_000, help="inputs (default 10000)")
    add("--n-features", type=_positive_int, default=1024, help="features (default 1024)")
    add("--size", type=_positive_int, default=15, help="map is size x size (default 15)")
    add("--iterations", type=_positive_int, default=30, help="batch iterations (default 30)")
    add("--seed", type=int, default=0, help="seed of the synthetic data (default 0)")
    add("--repeats", type=_positive_int, default=3, help="runs of ours, best kept (default 3)")


def _som_run(args: argparse.Namespace) -> None:
    data = synthetic_relu_layer(args.n_samples, args.n_features, seed=args.seed)
    initial = MiniSom(args.size, args.size, args.n_features, sigma=args.size / 4, random_seed=0)
    initial.pca_weights_init(data)

    ours_times = []
    for _ in range(args.repeats):
        ours = copy.deepcopy(initial)
        start = time.perf_counter()
        train_batch(ours, data, args.iterations)
        ours_times.append(time.perf_counter() - start)

    reference = copy.deepcopy(initial)
    start = time.perf_counter()
    reference.train_batch_offline(data, args.iterations)
    reference_time = time.perf_counter() - start

    ours_time = min(ours_times)
    diff = np.abs(ours.get_weights() - reference.get_weights()).max()
    print(
        f"{args.n_samples}x{args.n_features} data, {args.size}x{args.size} map, "
        f"{args.iterations} iterations: minisom_train_batch_offline={reference_time:.2f}s "
        f"train_batch={ours_time:.3f}s (best of {len(ours_times)})"
    )
    print(f"som_speedup={reference_time / ours_time:.1f} max_abs_weight_diff={diff:.2e}")


def _bitvectors_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--n-inputs", type=_positive_int, default=5000, help="test images for the similarity (default 5000)")
    add("--cdist-rows", type=_positive_int, default=1000,
        help="rows that cdist computes, its time scaled to all inputs (default 1000)")
    add("--per-class", type=_positive_int, default=200, help="inputs per digit, 45 pairs (default 200)")
    add("--seed", type=int, default=0, help="seed of the untrained model (default 0)")


def _bitvectors_run(args: argparse.Namespace) -> None:
    x, y = load_split("mnist", train=False)
    torch.manual_seed(args.seed)
    model = build_model("mnist_cnn").eval()
    bits = relu_bits(model, x[:args.n_inputs], layers=["conv1"], progress=False)["conv1"]

    start = time.perf_counter()
    ours = hamming_similarity(bits)
    ours_time = time.perf_counter() - start
    rows = min(args.cdist_rows, len(bits))
    unpacked = bits.unpack()
    start = time.perf_counter()
    reference = 1 - cdist(unpacked[:rows], unpacked, "hamming")
    cdist_time = (time.perf_counter() - start) * len(bits) / rows
    np.testing.assert_allclose(ours[:rows], reference, rtol=0, atol=1e-12)
    diff = np.abs(ours[:rows] - reference).max()

    labels = y.numpy()
    chosen = np.concatenate([np.flatnonzero(labels == digit)[:args.per_class] for digit in range(10)])
    pair_bits = relu_bits(model, x[chosen], progress=False)
    start = time.perf_counter()
    for layer in RELU_LAYERS:
        pair_separations(hamming_similarity(pair_bits[layer]), labels[chosen])
    fiedler_time = time.perf_counter() - start
    print(
        f"{len(bits)}x{len(bits)} Hamming similarity of conv1 bits ({bits.n_bits} per input): "
        f"hamming_similarity={ours_time:.2f}s cdist={cdist_time:.1f}s"
        + (f" (timed on {rows} rows, scaled)" if rows < len(bits) else "")
        + f"; 45 digit pairs x {len(RELU_LAYERS)} ReLU layers, {len(chosen)} inputs: {fiedler_time:.2f}s"
    )
    print(
        f"hamming_seconds={ours_time:.2f} cdist_seconds={cdist_time:.1f} cdist_rows={rows} "
        f"speedup={cdist_time / ours_time:.1f} max_abs_similarity_diff={diff:.1e} "
        f"fiedler_45_pairs_seconds={fiedler_time:.2f}"
    )


def _robust_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--family", choices=list(FAMILIES), default="full", help="model family (default full)")
    add("--member", default="FGSM-RS, ε = 0.3", help="member name (default 'FGSM-RS, ε = 0.3')")
    add("--epsilon", type=float, default=0.3, help="PGD budget (default 0.3)")
    add("--steps", type=_positive_int, default=40, help="PGD iterations (default 40)")
    add("--restarts", type=_positive_int, nargs="+", default=[1, 5], help="restart counts (default 1 5)")
    add("--n-test", type=_positive_int, default=10_000, help="first test images attacked (default 10000)")
    add("--cache-dir", type=Path, default=CHECKPOINT_DIR,
        help="checkpoint cache (default artifacts/checkpoints)")


def _robust_run(args: argparse.Namespace) -> None:
    members = {member.name: member for member in model_family(args.family)}
    if args.member not in members:
        raise SystemExit(f"--member must be one of {', '.join(map(repr, members))}, got {args.member!r}.")
    model, _ = load_or_train(members[args.member].config, cache_dir=args.cache_dir)
    x, y = load_split("mnist", train=False)
    x, y = x[:args.n_test], y[:args.n_test]
    results = [f"clean_accuracy={evaluate(model, x, y)['accuracy']:.4f}"]
    for restarts in args.restarts:
        start = time.perf_counter()
        robust = robust_inputs(model, x, y, args.epsilon, steps=args.steps, restarts=restarts)
        seconds = time.perf_counter() - start
        low, high = wilson_interval(int(robust.sum()), len(robust))
        print(f"{args.member}: PGD-{args.steps}, {restarts} start(s), epsilon {args.epsilon:g}, "
              f"{len(x)} test images: {robust.mean():.2%} robust "
              f"(95% interval {low:.2%} to {high:.2%}), {seconds:.0f} s")
        results.append(f"robust_accuracy_{restarts}={robust.mean():.4f} low_{restarts}={low:.4f} "
                       f"high_{restarts}={high:.4f} seconds_{restarts}={seconds:.1f}")
    print(" ".join(results))


_SMALL_RUN = dict(seed=0, epochs=3, n_train=5000)
ADVERSARIAL_TRAINING: dict[str, TrainConfig] = {
    "standard": TrainConfig(**_SMALL_RUN),
    "fgsm_rs_0.2": TrainConfig(adversarial="fgsm_rs", adv_epsilon=0.2, **_SMALL_RUN),
    "recipe_1_epoch_unclamped": TrainConfig(epochs=1, **WONG_MNIST),
    "recipe_1_epoch_clamped": TrainConfig(epochs=1, **{**WONG_MNIST, "adv_start": "clamped"}),
}
"""The runs of the ``adversarial_training`` benchmark, by the name its record gives them."""
ADVERSARIAL_TRAINING_RECORD = FIGURES_DIR / "bench" / "adversarial_training.json"


def _adversarial_training_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", nargs="+", choices=list(ADVERSARIAL_TRAINING),
                        default=list(ADVERSARIAL_TRAINING), help="runs to train (default: all)")
    parser.add_argument("--out", type=Path, default=ADVERSARIAL_TRAINING_RECORD,
                        help="record to write (default figures/bench/adversarial_training.json)")


def _adversarial_training_run(args: argparse.Namespace) -> None:
    runs = {}
    for name in args.runs:
        config = ADVERSARIAL_TRAINING[name]
        model, record = train(config, progress=False)
        if config.adversarial is None:  # measured as the FGSM-RS run's record measures it
            evaluated_as = replace(config, adversarial="fgsm_rs", adv_epsilon=0.2)
            record.update(robust_evaluation(model, evaluated_as),
                          robust_evaluation={**ROBUST_EVALUATION, "epsilon": evaluated_as.adv_epsilon})
        n = record["robust_evaluation"]["n_test"]
        low, high = wilson_interval(round(record["robust_accuracy"] * n), n)
        runs[name] = {"config": config.as_dict(), "clean_accuracy": record["clean_accuracy"],
                      "robust_accuracy": record["robust_accuracy"], "robust_low": low, "robust_high": high,
                      "robust_evaluation": record["robust_evaluation"],
                      "train_seconds": round(record["train_seconds"], 1)}
        print(f"{name}: clean {record['clean_accuracy']:.1%}, PGD-40 at "
              f"{record['robust_evaluation']['epsilon']:g} {record['robust_accuracy']:.1%} "
              f"(95% interval {low:.1%} to {high:.1%}), trained in {record['train_seconds']:.0f} s",
              flush=True)
    save_json({"benchmark": "adversarial_training", "torch": torch.__version__,
               "threads": torch.get_num_threads(), "runs": runs}, args.out)
    print(" ".join(f"{name}_robust={run['robust_accuracy']:.4f}" for name, run in runs.items()))


def robustness_models(lesson: str) -> dict[str, tuple[TrainConfig, tuple[float, ...], float]]:
    """The models a lesson calls robust or not, by name: (config, AutoAttack budgets, PGD budget).

    Lesson 06: lesson 01's model (PGD only) and every adversarially trained member of the full family,
    with the suite at its training budget and at 0.3. Lesson 08: every model of the consistency sweep
    (`consistency.sweep_models`: each λ, and more seeds of λ = 0 and the regularized λ), at their budget.
    """
    if lesson == "08":
        return {name: (config, (config.adv_epsilon,), config.adv_epsilon)
                for name, config in sweep_models().items()}
    if lesson != "06":
        raise ValueError(f"no robustness evaluation is defined for lesson {lesson!r}; "
                         "choose one of ('06', '08').")
    models = {}
    for member in model_family("full"):
        if member.lever == "reference":
            models[member.name] = (member.config, (), 0.1)
        elif member.lever == "adversarial training":
            eps = member.config.adv_epsilon
            models[member.name] = (member.config, tuple(sorted({eps, 0.3})), eps)
    return models


def _robustness_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lesson", default="06", help="whose models to evaluate (default 06)")
    parser.add_argument("--n-test", type=_positive_int, default=1000,
                        help="test images, a seeded random subset (default 1,000)")
    parser.add_argument("--models", nargs="+", default=None,
                        help="names of the models to evaluate (default: all)")
    parser.add_argument("--out", type=Path, default=None,
                        help="record to write (default figures/bench/robustness_<lesson>.json)")


def _robustness_run(args: argparse.Namespace) -> None:
    settings = Evaluation()
    path = args.out or Path(str(ROBUSTNESS_RECORD).format(lesson=args.lesson))
    wanted = robustness_models(args.lesson)
    header = {"benchmark": "robustness", "lesson": args.lesson, "torch": torch.__version__,
              "n_test": args.n_test, "subset_seed": settings.seed, "settings": asdict(settings)}
    record = json.loads(path.read_text()) if path.exists() else {}
    same = ("lesson", "n_test", "subset_seed", "settings")
    if any(record.get(key) != header[key] for key in same):
        record = {}                                          # other settings: start again
    record = {**header, "models": record.get("models", {})}
    x, y = random_subset(*load_split("mnist", train=False), args.n_test, seed=settings.seed)
    for name in args.models or wanted:
        config, suite_epsilons, pgd_epsilon = wanted[name]
        done = record["models"].get(name, {})
        if done.get("checkpoint") == config.checkpoint_path().name:
            print(f"{name}: in the record already")
            continue
        model, train_record = load_or_train(config, progress=False)
        start = time.perf_counter()
        result = robustness_record(model, x, y, suite_epsilons, pgd_epsilon, settings)
        clean = float((predict_logits(model, x).argmax(1) == y).float().mean())
        record["models"][name] = {"config": config.as_dict(), "checkpoint": config.checkpoint_path().name,
                                  "clean_accuracy": clean, **result,
                                  "seconds": round(time.perf_counter() - start, 1)}
        save_json(record, path)
        suites = ", ".join(f"AutoAttack at {eps}: {s['accuracy_after']['Square']:.1%}"
                           for eps, s in result["autoattack"].items())
        print(f"{name}: {suites or 'PGD only'}; {record['models'][name]['seconds']:.0f} s", flush=True)
    print(" ".join(f"{name.replace(' ', '_')}={m['seconds']}" for name, m in record["models"].items()))


BENCHMARKS: dict[str, Benchmark] = {
    "som": Benchmark(
        help="MiniSom train_batch_offline vs helpers.som.train_batch (speed, weight agreement)",
        add_arguments=_som_arguments,
        run=_som_run,
    ),
    "bitvectors": Benchmark(
        help="helpers.bitvectors.hamming_similarity vs scipy cdist 'hamming'; 45-pair Fiedler analysis",
        add_arguments=_bitvectors_arguments,
        run=_bitvectors_run,
    ),
    "robust": Benchmark(
        help="robust accuracy of a lesson-06 family member on the test set, PGD with and without restarts",
        add_arguments=_robust_arguments,
        run=_robust_run,
    ),
    "adversarial_training": Benchmark(
        help="FGSM-RS vs standard training; Wong et al.'s recipe with its start unclipped and clipped",
        add_arguments=_adversarial_training_arguments,
        run=_adversarial_training_run,
    ),
    "robustness": Benchmark(
        help="AutoAttack's suite (ART), PGD iterations, restarts and budgets for a lesson's models",
        add_arguments=_robustness_arguments,
        run=_robustness_run,
    ),
}


def main(argv: Sequence[str] | None = None) -> None:
    """Parse ``argv`` (default: the command line) and run the chosen benchmark."""
    parser = argparse.ArgumentParser(prog="python -m helpers.bench", description=__doc__)
    subparsers = parser.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK")
    for name, benchmark in BENCHMARKS.items():
        sub = subparsers.add_parser(name, help=benchmark.help, description=benchmark.help)
        benchmark.add_arguments(sub)
    args = parser.parse_args(argv)
    BENCHMARKS[args.benchmark].run(args)


if __name__ == "__main__":
    main()
