from __future__ import annotations

import io
import os

import numpy as np
import pytest
import torch

from helpers import training
from helpers.models import build_model
from helpers.training import CheckpointMismatchError, TrainConfig, load_or_train

SMALL = dict(epochs=1, n_train=1500, batch_size=100)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("checkpoints")


@pytest.fixture(scope="module")
def trained(cache):
    return load_or_train(TrainConfig(seed=0, **SMALL), cache_dir=cache, progress=False)


def test_training_learns_and_records_history(trained) -> None:
    model, record = trained
    assert record["test_accuracy"] > 0.5  # chance is 0.1; 15 steps reach about 0.7
    assert record["history"]["epoch"] == [1]
    assert record["steps_per_epoch"] == 15
    assert not model.training


def test_untrained_initialization_is_at_chance(cache) -> None:
    _, record = load_or_train(TrainConfig(seed=0, epochs=0), cache_dir=cache, progress=False)
    assert 0.0 < record["test_accuracy"] < 0.3
    assert record["history"]["epoch"] == []


def test_cache_returns_the_same_model_without_training(cache, trained, monkeypatch) -> None:
    monkeypatch.setattr(training, "train", lambda *a, **k: pytest.fail("trained again"))
    model, record = load_or_train(TrainConfig(seed=0, **SMALL), cache_dir=cache)
    assert record == trained[1]
    for p, q in zip(model.parameters(), trained[0].parameters()):
        assert torch.equal(p, q)


def test_training_is_deterministic(cache, trained, tmp_path) -> None:
    model, record = load_or_train(TrainConfig(seed=0, **SMALL), cache_dir=tmp_path, progress=False)
    assert record["test_accuracy"] == trained[1]["test_accuracy"]
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), trained[0].parameters()))


def test_key_covers_every_set_field_and_skips_unset_ones() -> None:
    base = TrainConfig()
    variants = [TrainConfig(seed=1), TrainConfig(epochs=3), TrainConfig(n_train=100),
                TrainConfig(label_noise=0.2), TrainConfig(lr=1e-3), TrainConfig(batch_size=64),
                TrainConfig(dataset="fashion_mnist")]
    assert len({base.key, *(v.key for v in variants)}) == len(variants) + 1
    assert "n_train" not in base.as_dict()


def test_mismatched_checkpoint_is_refused(cache, trained) -> None:
    right = TrainConfig(seed=0, **SMALL).checkpoint_path(cache)
    wrong = TrainConfig(seed=7, **SMALL)
    wrong_path = wrong.checkpoint_path(cache)
    wrong_path.write_bytes(right.read_bytes())
    with pytest.raises(CheckpointMismatchError, match="'seed': 0.*Delete the file"):
        load_or_train(wrong, cache_dir=cache)
    os.remove(wrong_path)


def test_checkpoint_is_written_atomically(tmp_path, monkeypatch) -> None:
    def interrupted(obj, path):
        open(path, "wb").write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", interrupted)
    config = TrainConfig(seed=0, epochs=0)
    with pytest.raises(KeyboardInterrupt):
        load_or_train(config, cache_dir=tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kwargs, match", [
    (dict(dataset="imagenet"), "dataset must be one of 'mnist', 'fashion_mnist', 'cifar10', got 'imagenet'."),
    (dict(arch="vgg"), "arch must be one of 'mnist_cnn', 'cifar_cnn', got 'vgg'."),
    (dict(label_noise=1.5), r"label_noise must be a number in \[0, 1\], got 1.5."),
    (dict(n_train=0), r"n_train must be None or an integer in \[1, 60000\], got 0."),
    (dict(epochs=-1), "epochs must be an integer >= 0, got -1."),
    (dict(batch_size=0), "batch_size must be an integer >= 1, got 0."),
    (dict(lr=0.0), "lr must be a number > 0, got 0.0."),
    (dict(seed=1.5), "seed must be an integer in"),
])
def test_bad_configuration_is_a_clear_error(kwargs, match) -> None:
    with pytest.raises(ValueError, match=f"^{match}"):
        TrainConfig(**kwargs)


def test_every_bad_field_of_a_configuration_is_named_at_once() -> None:
    with pytest.raises(ValueError) as caught:
        TrainConfig(epochs=-1, lr=-0.1)
    assert str(caught.value).splitlines() == [
        "2 invalid parameters:",
        "  - epochs must be an integer >= 0, got -1.",
        "  - lr must be a number > 0, got -0.1.",
    ]


def test_label_noise_and_subset_reach_the_training_data() -> None:
    x, y = training.training_data(TrainConfig(n_train=500, label_noise=0.0))
    _, y_noisy = training.training_data(TrainConfig(n_train=500, label_noise=0.4))
    assert len(x) == 500
    assert (y != y_noisy).sum().item() == 200


def _stale_weights(blob: bytes, config: TrainConfig) -> bytes:
    buffer = io.BytesIO()
    torch.save({"config": config.as_dict(), "state_dict": {}, "record": {}}, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("damage", [
    pytest.param(lambda blob, config: blob[:100], id="truncated-to-100-bytes"),
    pytest.param(lambda blob, config: b"", id="empty"),
    pytest.param(lambda blob, config: blob[:len(blob) // 2], id="half-written"),
    pytest.param(_stale_weights, id="weights-of-another-architecture"),
])
def test_unreadable_checkpoint_is_moved_aside_and_retrained(tmp_path, capsys, monkeypatch, damage) -> None:
    config = TrainConfig(seed=0, epochs=0)
    reference, _ = load_or_train(config, cache_dir=tmp_path, progress=False)
    path = config.checkpoint_path(tmp_path)
    damaged = damage(path.read_bytes(), config)
    path.write_bytes(damaged)
    capsys.readouterr()

    model, _ = load_or_train(config, cache_dir=tmp_path, progress=False)

    aside = path.with_name(path.name + ".corrupt")
    out = capsys.readouterr().out
    assert f"Cached checkpoint {path} " in out and f"Moved it to {aside} and training again." in out
    assert aside.read_bytes() == damaged
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), reference.parameters()))
    monkeypatch.setattr(training, "train", lambda *a, **k: pytest.fail("trained again"))
    load_or_train(config, cache_dir=tmp_path)  # the retrained checkpoint is cached again


def test_fgsm_rs_training_records_clean_and_robust_accuracy_on_the_fixed_held_out_set() -> None:
    config = TrainConfig(adversarial="fgsm_rs", adv_epsilon=0.2, epochs=1, n_train=200)
    model, record = training.train(config, progress=False)
    assert record["robust_evaluation"] == {"attack": "pgd", "steps": 40, "random_start": True,
                                           "seed": 0, "n_test": 500, "epsilon": 0.2}
    assert 0 <= record["robust_accuracy"] <= record["clean_accuracy"] + 1e-6  # float32 shares of 500
    assert record["clean_accuracy"] <= 1
    assert not model.training


# What adversarial training achieves takes minutes of training to show: `python -m helpers.bench
# adversarial_training` trains those runs and commits their record, which these tests read.
def _adversarial_training_record() -> dict:
    import json

    from helpers.bench import ADVERSARIAL_TRAINING, ADVERSARIAL_TRAINING_RECORD

    record = json.loads(ADVERSARIAL_TRAINING_RECORD.read_text())
    assert {name: run["config"] for name, run in record["runs"].items()} == {
        name: config.as_dict() for name, config in ADVERSARIAL_TRAINING.items()
    }, "the record is of other runs: python -m helpers.bench adversarial_training writes it anew"
    return record["runs"]


def test_bench_adversarial_training_writes_the_record_the_tests_read(tmp_path, monkeypatch, capsys) -> None:
    import json

    from helpers import bench

    tiny = {"standard": TrainConfig(epochs=1, n_train=200),
            "fgsm_rs_0.2": TrainConfig(adversarial="fgsm_rs", adv_epsilon=0.2, epochs=1, n_train=200)}
    monkeypatch.setattr(bench, "ADVERSARIAL_TRAINING", tiny)
    bench.main(["adversarial_training", "--out", str(tmp_path / "record.json")])
    runs = json.loads((tmp_path / "record.json").read_text())["runs"]
    assert {name: run["config"] for name, run in runs.items()} == {n: c.as_dict() for n, c in tiny.items()}
    for run in runs.values():  # the standard model is attacked as the FGSM-RS model's record attacks it
        assert run["robust_evaluation"]["epsilon"] == 0.2 and run["robust_evaluation"]["n_test"] == 500
        assert run["robust_low"] <= run["robust_accuracy"] <= run["robust_high"]
    assert capsys.readouterr().out.splitlines()[-1].startswith("standard_robust=")


def test_fgsm_rs_training_is_far_more_robust_than_standard_training() -> None:
    """Seed 0, 5,000 training images, 3 epochs, PGD-40 at 0.2 on the first 500 test images."""
    runs = _adversarial_training_record()
    robust, standard = runs["fgsm_rs_0.2"], runs["standard"]
    assert robust["robust_evaluation"]["epsilon"] == standard["robust_evaluation"]["epsilon"] == 0.2
    assert robust["clean_accuracy"] > 0.8
    # the record: 43.2% (38.9 to 47.6%) against 12.8% (10.2 to 16.0%)
    assert robust["robust_low"] > standard["robust_high"]
    assert robust["robust_accuracy"] > standard["robust_accuracy"] + 0.2


def test_fgsm_rs_at_0_3_needs_the_unclamped_start() -> None:
    """One epoch of Wong et al.'s MNIST recipe on all images, with the start left unclipped and clipped:
    the clipped start overfits catastrophically (lesson 06)."""
    runs = _adversarial_training_record()
    unclamped, clamped = runs["recipe_1_epoch_unclamped"], runs["recipe_1_epoch_clamped"]
    assert unclamped["robust_low"] > 0.3        # the record: 71.2% (67.1 to 75.0%)
    assert clamped["robust_high"] < min(0.15, unclamped["robust_low"])  # the record: 6.6% (4.7 to 9.1%)
    assert clamped["clean_accuracy"] > 0.9  # the clipped start still learns the clean task


@pytest.mark.parametrize("method, options", [
    ("fgsm_rs", {}), ("fgsm_rs", dict(adv_step_size=0.1)), ("pgd", dict(adv_steps=3)), ("fgsm", {}),
    ("fgsm_rs", dict(adv_start="unclamped")), ("pgd", dict(adv_steps=2, adv_start="unclamped")),
])
def test_adversarial_inputs_stay_in_the_ball_and_are_seeded(trained, method, options) -> None:
    model, _ = trained
    model.zero_grad(set_to_none=True)
    model.train()
    x, y = training.training_data(TrainConfig(n_train=64))
    config = TrainConfig(adversarial=method, adv_epsilon=0.2, **options)

    x_adv = training.adversarial_inputs(model, x, y, config, seed=5)

    assert model.training
    assert all(p.grad is None for p in model.parameters())
    assert (x_adv - x).abs().max() <= 0.2 + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1
    assert (x_adv != x).any()
    assert torch.equal(x_adv, training.adversarial_inputs(model, x, y, config, seed=5))
    random_start = method != "fgsm"
    assert torch.equal(x_adv, training.adversarial_inputs(model, x, y, config, seed=6)) != random_start
    model.eval()


def test_plain_fgsm_takes_one_step_of_epsilon_without_random_start(trained) -> None:
    from helpers.attacks import fgsm

    model, _ = trained
    x, y = training.training_data(TrainConfig(n_train=64))
    config = TrainConfig(adversarial="fgsm", adv_epsilon=0.2)
    assert torch.equal(training.adversarial_inputs(model, x, y, config, seed=0), fgsm(model, x, y, 0.2))


def test_adversarial_options_leave_existing_keys_unchanged() -> None:
    assert TrainConfig().key == "f88bf83370aad7b2"  # the keys without the options (one-thread weights)
    assert TrainConfig(seed=1, epochs=0).key == "2361e569b4e899fc"
    keys = {TrainConfig(adversarial="fgsm_rs", adv_epsilon=eps).key for eps in (0.1, 0.3)}
    keys |= {TrainConfig(adversarial="pgd", adv_epsilon=0.3, adv_steps=steps).key for steps in (7, 10)}
    keys |= {TrainConfig(adversarial="fgsm", adv_epsilon=0.3).key, TrainConfig().key}
    assert len(keys) == 6


def test_the_unclamped_start_is_pgds_unclamped_start() -> None:
    from helpers.attacks import pgd

    model = build_model("mnist_cnn")
    x, y = training.training_data(TrainConfig(n_train=32))
    config = TrainConfig(adversarial="fgsm_rs", adv_epsilon=0.3, adv_start="unclamped")
    expected = pgd(model, x, y, 0.3, step_size=0.375, steps=1, seed=3, clamp_start=False)
    assert torch.equal(training.adversarial_inputs(model, x, y, config, seed=3), expected)
    assert not torch.equal(expected, pgd(model, x, y, 0.3, step_size=0.375, steps=1, seed=3))


def test_start_and_schedule_defaults_keep_the_old_keys() -> None:
    adversarial = dict(adversarial="fgsm_rs", adv_epsilon=0.3)
    assert TrainConfig(lr_schedule="cosine") == TrainConfig()
    assert TrainConfig(lr_schedule="cosine").key == "f88bf83370aad7b2"
    assert TrainConfig(**adversarial, adv_start="clamped").key == TrainConfig(**adversarial).key
    keys = {TrainConfig(**adversarial).key, TrainConfig(**adversarial, adv_start="unclamped").key,
            TrainConfig(**adversarial, lr_schedule="cyclic").key,
            TrainConfig(**adversarial, adv_start="unclamped", lr_schedule="cyclic").key}
    assert len(keys) == 4


def test_the_cyclic_schedule_rises_to_lr_and_falls_back_to_zero() -> None:
    optimizer = torch.optim.Adam(build_model("mnist_cnn").parameters(), lr=5e-3)
    scheduler = training.lr_scheduler(optimizer, "cyclic", total_steps=10)
    rates = []
    for _ in range(10):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    # the ramp through (0, 0), (4, 1), (10, 0) at steps 1, ..., 10
    expected = 5e-3 * np.array([0.25, 0.5, 0.75, 1.0, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6, 0.0])
    np.testing.assert_allclose(rates, expected, rtol=1e-9, atol=1e-12)


def test_the_cosine_schedule_is_the_default() -> None:
    optimizer = torch.optim.Adam(build_model("mnist_cnn").parameters(), lr=1e-3)
    assert isinstance(training.lr_scheduler(optimizer, None, 10), torch.optim.lr_scheduler.CosineAnnealingLR)


@pytest.mark.parametrize("kwargs, match", [
    (dict(adversarial="trades", adv_epsilon=0.3),
     "adversarial must be one of 'fgsm_rs', 'pgd', 'fgsm', got 'trades'."),
    (dict(adversarial="fgsm_rs"), r"adv_epsilon must be a number in \(0, 1\] when adversarial is "
                                  r"'fgsm_rs', got None."),
    (dict(adv_epsilon=0.3), "adversarial must be one of 'fgsm_rs', 'pgd', 'fgsm' when adv_epsilon=0.3 "
                            r"is set \(the adv_\* options configure adversarial training\), got None."),
    (dict(adv_steps=5, adv_step_size=0.1), "adversarial must be one of 'fgsm_rs', 'pgd', 'fgsm' when "
                                           "adv_step_size=0.1, adv_steps=5 is set"),
    (dict(adversarial="pgd", adv_epsilon=0.3),
     "adv_steps must be an integer >= 1 when adversarial is 'pgd', got None."),
    (dict(adversarial="fgsm_rs", adv_epsilon=0.3, adv_steps=2),
     r"adv_steps must be None when adversarial is 'fgsm_rs' \(one step; only 'pgd' takes steps\), got 2."),
    (dict(adversarial="fgsm", adv_epsilon=0.3, adv_step_size=0.3),
     r"adv_step_size must be None when adversarial is 'fgsm' \(its step is adv_epsilon"),
    (dict(adversarial="fgsm_rs", adv_epsilon=0.0),
     r"adv_epsilon must be None or a number in \(0, 1\], got 0.0."),
    (dict(adversarial="fgsm_rs", adv_epsilon=0.3, adv_step_size=-1.0),
     "adv_step_size must be None or a number > 0, got -1.0."),
    (dict(adversarial="pgd", adv_epsilon=0.3, adv_steps=0),
     "adv_steps must be None or an integer >= 1, got 0."),
    (dict(adversarial="fgsm", adv_epsilon=0.3, adv_start="unclamped"),
     r"adv_start must be None when adversarial is 'fgsm' \(it has no random start\), got 'unclamped'."),
    (dict(adv_start="unclamped"), "adversarial must be one of 'fgsm_rs', 'pgd', 'fgsm' when "
                                  "adv_start='unclamped' is set"),
    (dict(adversarial="fgsm_rs", adv_epsilon=0.3, adv_start="outside"),
     "adv_start must be one of 'clamped', 'unclamped', got 'outside'."),
    (dict(lr_schedule="step"), "lr_schedule must be one of 'cosine', 'cyclic', got 'step'."),
])
def test_bad_adversarial_options_are_a_clear_error(kwargs, match) -> None:
    with pytest.raises(ValueError, match=f"^{match}"):
        TrainConfig(**kwargs)


def test_long_runs_are_evaluated_after_a_few_evenly_spaced_epochs_and_the_last() -> None:
    assert training.evaluated_epochs(0) == []
    assert training.evaluated_epochs(2) == [1, 2]   # lesson 01's learning curves keep every epoch
    assert training.evaluated_epochs(30) == [15, 30]
    assert training.evaluated_epochs(30, max_evaluations=5) == [6, 12, 18, 24, 30]
    assert training.evaluated_epochs(7, max_evaluations=3) == [2, 5, 7]
    config = TrainConfig(seed=0, epochs=7, n_train=200)
    _, record = training.train(config, progress=False)
    assert record["history"]["epoch"] == training.evaluated_epochs(7)
    assert len(record["history"]["test_accuracy"]) == len(training.evaluated_epochs(7))


CONSISTENT = dict(adversarial="fgsm_rs", adv_epsilon=0.2, consistency=2.0)


def test_consistency_loss_is_both_cross_entropies_plus_lambda_times_the_layer_gap(trained) -> None:
    import torch.nn.functional as F

    from helpers.activations import extract_activations

    model, _ = trained
    x, y = training.training_data(TrainConfig(n_train=64))
    config = TrainConfig(**CONSISTENT, consistency_layers=("conv3", "fc"))

    loss, logits, counted = training.batch_loss(model, x, y, config, seed=3)

    x_adv = training.adversarial_inputs(model, x, y, config, seed=3)
    clean, twin = (extract_activations(model, inputs, ["conv3", "fc"], pool_size=None, progress=False)
                   for inputs in (x, x_adv))
    gap = sum(((clean[layer] - twin[layer]) ** 2).mean() for layer in ("conv3", "fc"))
    with torch.no_grad():
        expected = F.cross_entropy(model(x), y) + F.cross_entropy(model(x_adv), y) + 2.0 * gap
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert torch.equal(counted, torch.cat([y, y])) and logits.shape == (128, 10)
    assert all(not hook for hook in (model.fc_relu._forward_hooks, model.block3.relu._forward_hooks))


def test_consistency_term_brings_the_fc_codes_of_real_and_adversarial_inputs_together(trained) -> None:
    import copy

    from helpers.activations import extract_activations
    from helpers.attacks import pgd

    x, y = training.training_data(TrainConfig(n_train=3000))
    x_test, y_test = training.training_data(TrainConfig(n_train=300, seed=1))

    def fine_tuned(lam: float) -> torch.nn.Module:
        model = copy.deepcopy(trained[0]).train()
        config = TrainConfig(**{**CONSISTENT, "consistency": lam})
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        for step in range(30):
            index = slice(100 * step, 100 * (step + 1))
            loss, _, _ = training.batch_loss(model, x[index], y[index], config, seed=step)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return model.eval()

    def fc_gap(model: torch.nn.Module) -> float:
        twin = pgd(model, x_test, y_test, 0.2, steps=10)
        clean, adversarial = (extract_activations(model, inputs, ["fc"], progress=False)["fc"]
                              for inputs in (x_test, twin))
        return float(((clean - adversarial) ** 2).mean())

    assert fc_gap(fine_tuned(10.0)) < 0.5 * fc_gap(fine_tuned(0.0))


def test_consistency_options_keep_other_keys_and_are_keyed() -> None:
    adversarial = dict(adversarial="fgsm_rs", adv_epsilon=0.1)
    keys = {TrainConfig(**adversarial, consistency=lam).key for lam in (0.0, 1.0)}
    keys.add(TrainConfig(**adversarial, consistency=1.0, consistency_layers=("fc",)).key)
    keys.add(TrainConfig(**adversarial).key)
    assert len(keys) == 4
    assert TrainConfig(**adversarial).as_dict().keys().isdisjoint(
        {"consistency", "consistency_layers"})


@pytest.mark.parametrize("kwargs, match", [
    (dict(consistency=1.0),
     "adversarial must be one of 'fgsm_rs', 'pgd', 'fgsm' when consistency=1.0 is set"),
    (dict(adversarial="fgsm_rs", adv_epsilon=0.1, consistency=-1.0),
     "consistency must be None or a number >= 0, got -1.0."),
    (dict(adversarial="fgsm_rs", adv_epsilon=0.1, consistency_layers=("fc",)),
     r"consistency must be a number >= 0 when consistency_layers=\('fc',\) is set, got None."),
    (dict(adversarial="fgsm_rs", adv_epsilon=0.1, consistency=1.0, consistency_layers=("fc7",)),
     r"consistency_layers must be a non-empty tuple of probe layers of 'mnist_cnn' \('conv1', 'conv2', "
     r"'conv3', 'fc', 'logits'\), got \('fc7',\)."),
    (dict(adversarial="fgsm_rs", adv_epsilon=0.1, consistency=1.0, consistency_layers="fc"),
     "consistency_layers must be a non-empty tuple of probe layers"),
])
def test_bad_consistency_options_are_a_clear_error(kwargs, match) -> None:
    with pytest.raises(ValueError, match=f"^{match}"):
        TrainConfig(**kwargs)


def test_weights_do_not_depend_on_the_thread_count(trained) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        model, _ = training.train(TrainConfig(seed=0, **SMALL), progress=False)
        assert torch.get_num_threads() == 2  # training ran on one thread and gave the others back
    finally:
        torch.set_num_threads(threads)
    for name, value in model.state_dict().items():
        assert torch.equal(value, trained[0].state_dict()[name]), name


def test_the_record_keeps_which_test_images_the_model_classifies_right(trained) -> None:
    from helpers.data import load_split
    from helpers.models import predict_logits

    model, record = trained
    x, y = load_split("mnist", train=False)
    right = training.correct_on_test_set(record)
    assert right.dtype == bool and right.shape == (len(y),)
    assert np.array_equal(right, (predict_logits(model, x).argmax(1) == y).numpy())
    assert right.mean() == pytest.approx(record["test_accuracy"])
    assert training.correct_on_test_set({"test_accuracy": 0.5}) is None      # a record from before
