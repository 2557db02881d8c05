from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers.attacks import (
    ATTACKS,
    AttackSweep,
    attack,
    attack_success,
    attack_sweep,
    correctly_classified,
    fgsm,
    pgd,
    robust_inputs,
    sign_noise,
    sign_noise_attack,
)
from helpers.data import load_split
from helpers.models import build_model, predict_logits
from helpers.training import TrainConfig, load_or_train

# Two-class linear model on 4 pixels. W[1] - W[0] = [-2, 2, 0, 2]: for true class 0 the input
# gradient has sign [-1, 1, 0, 1], for true class 1 the opposite; pixel 2 has exactly zero
# gradient (its weights are 0, so no rounding in softmax - onehot can give it a sign).
WEIGHTS = torch.tensor([[1.0, -1.0, 0.0, 0.0], [-1.0, 1.0, 0.0, 2.0]])


def linear_model() -> nn.Sequential:
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    with torch.no_grad():
        model[1].weight.copy_(WEIGHTS)
        model[1].bias.copy_(torch.tensor([0.3, -0.3]))
    return model.eval()


def random_images(n: int = 12, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 2, 2, generator=generator)
    return x, torch.randint(0, 2, (n,), generator=generator)


class ModeRecorder(nn.Module):
    """Identity that records whether it was in training mode at each forward pass."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(self.training)
        return x


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    """A briefly trained MNIST CNN, 200 test images, and its attacks at eps 0.1 and 0.2."""
    model, _ = load_or_train(
        TrainConfig(seed=0, epochs=1, n_train=3000),
        cache_dir=tmp_path_factory.mktemp("checkpoints"), progress=False,
    )
    x, y = load_split("mnist", train=False)
    x, y = x[:200], y[:200]
    adversarial = {
        (name, eps): attack(name, model, x, y, eps) for name in ATTACKS for eps in (0.1, 0.2)
    }
    return model, x, y, adversarial


def cross_entropy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return F.cross_entropy(predict_logits(model, x), y).item()


# --- the perturbation budget -----------------------------------------------------------------


@pytest.mark.parametrize("name", list(ATTACKS))
@pytest.mark.parametrize("epsilon", [0.03, 0.25, 0.6])
def test_outputs_stay_in_the_epsilon_ball_and_the_box(name, epsilon):
    x, y = random_images(40)
    x[:5] = 0.0  # pixels on the box edges, where clipping must act
    x[5:10] = 1.0
    x_adv = attack(name, linear_model(), x, y, epsilon)
    assert x_adv.shape == x.shape and x_adv.dtype == x.dtype
    assert (x_adv - x).abs().max() <= epsilon + 1e-6
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert not torch.equal(x_adv, x)


def test_noise_moves_every_pixel_by_epsilon_before_clipping():
    x = torch.full((50, 1, 4, 4), 0.5)
    delta = sign_noise(x, 0.2) - x
    assert torch.allclose(delta.abs(), torch.full_like(x, 0.2), atol=1e-6)
    assert 0.4 < (delta > 0).float().mean() < 0.6


def test_pgd_steps_stay_in_the_ball_with_a_large_step_size():
    x, y = random_images(30)
    x_adv = pgd(linear_model(), x, y, 0.05, step_size=0.5, steps=3)
    assert (x_adv - x).abs().max() <= 0.05 + 1e-6
    assert x_adv.min() >= 0 and x_adv.max() <= 1


@pytest.mark.parametrize("name", list(ATTACKS))
def test_epsilon_zero_returns_an_exact_copy(name):
    x, y = random_images()
    x_adv = attack(name, linear_model(), x, y, 0.0)
    assert torch.equal(x_adv, x)
    assert x_adv.data_ptr() != x.data_ptr()


# --- FGSM in closed form ---------------------------------------------------------------------


def test_fgsm_on_a_linear_model_matches_the_gradient_sign_by_hand():
    x = torch.tensor([[0.05, 0.5, 0.3, 0.97], [0.5, 0.02, 0.7, 0.5]]).view(2, 1, 2, 2)
    y = torch.tensor([0, 1])
    expected = torch.tensor([
        [0.0, 0.6, 0.3, 1.0],  # sign [-1, 1, 0, 1], clipped at 0 and at 1
        [0.6, 0.0, 0.7, 0.4],  # sign [1, -1, 0, -1], clipped at 0
    ]).view(2, 1, 2, 2)
    model = linear_model()
    torch.testing.assert_close(fgsm(model, x, y, 0.1), expected, atol=1e-7, rtol=0)
    # With two classes, stepping toward target 1 - y is the untargeted step away from y.
    torch.testing.assert_close(fgsm(model, x, 1 - y, 0.1, targeted=True), expected, atol=1e-7,
                               rtol=0)


def test_fgsm_agrees_with_the_closed_form_on_many_inputs():
    x, y = random_images(64)
    signs = torch.sign(WEIGHTS[1 - y] - WEIGHTS[y]).view_as(x)
    expected = (x + 0.15 * signs).clamp(0, 1)
    torch.testing.assert_close(fgsm(linear_model(), x, y, 0.15), expected, atol=1e-7, rtol=0)


@pytest.mark.parametrize("name", ["fgsm", "pgd"])
def test_batching_does_not_change_the_result(name):
    x, y = random_images(25)
    model = linear_model()
    whole = attack(name, model, x, y, 0.1, batch_size=500)
    torch.testing.assert_close(attack(name, model, x, y, 0.1, batch_size=4), whole)


# --- model state -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["fgsm", "pgd"])
@pytest.mark.parametrize("training", [True, False])
def test_attacks_run_in_eval_mode_restore_the_mode_and_leave_grads_alone(name, training):
    recorder = ModeRecorder()
    model = nn.Sequential(recorder, nn.Flatten(), nn.Linear(4, 2))
    model.train(training)
    x, y = random_images()
    attack(name, model, x, y, 0.1, batch_size=5)
    assert recorder.seen and not any(recorder.seen)
    assert all(module.training == training for module in model.modules())
    assert all(p.grad is None for p in model.parameters())


def test_mixed_module_modes_are_restored_per_module():
    model = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(4, 2))
    model.train()
    model[1].eval()
    fgsm(model, *random_images(), 0.1)
    assert [m.training for m in model] == [True, False, True]


# --- determinism -----------------------------------------------------------------------------


def test_pgd_is_deterministic_given_the_seed():
    x, y = random_images(20)
    model = linear_model()
    first = pgd(model, x, y, 0.1, steps=1, step_size=0.01, seed=3)
    assert torch.equal(pgd(model, x, y, 0.1, steps=1, step_size=0.01, seed=3), first)
    assert not torch.equal(pgd(model, x, y, 0.1, steps=1, step_size=0.01, seed=4), first)


def test_pgd_without_random_start_starts_from_x():
    x, y = random_images(20)
    model = linear_model()
    # One step without a random start is FGSM with the step size as epsilon.
    one_step = pgd(model, x, y, 0.1, step_size=0.1, steps=1, random_start=False)
    torch.testing.assert_close(one_step, fgsm(model, x, y, 0.1))
    assert torch.equal(pgd(model, x, y, 0.1, random_start=False, seed=1),
                       pgd(model, x, y, 0.1, random_start=False, seed=2))


@pytest.mark.parametrize("clamp_start", [True, False])
def test_one_pgd_step_from_a_clamped_or_unclamped_start_by_hand(clamp_start):
    x, y = random_images(40)
    x[:, :, 0, 0] = 0.0  # black pixels, where clipping the start matters
    start = (2 * torch.rand(x.shape, generator=torch.Generator().manual_seed(7)) - 1) * 0.2
    first = (x + start).clamp(0, 1) if clamp_start else x + start
    signs = torch.sign(WEIGHTS[1 - y] - WEIGHTS[y]).view_as(x)  # a linear model's gradient sign
    expected = torch.min(torch.max(first + 0.25 * signs, x - 0.2), x + 0.2).clamp(0, 1)
    x_adv = pgd(linear_model(), x, y, 0.2, step_size=0.25, steps=1, seed=7, clamp_start=clamp_start)
    torch.testing.assert_close(x_adv, expected, atol=1e-6, rtol=0)


def test_the_unclamped_start_differs_only_where_the_start_leaves_the_box():
    x, y = random_images(40)
    x[:, :, 0, 0] = 0.0
    model = linear_model()
    clamped = pgd(model, x, y, 0.2, step_size=0.05, steps=1, seed=7)
    unclamped = pgd(model, x, y, 0.2, step_size=0.05, steps=1, seed=7, clamp_start=False)
    start = (2 * torch.rand(x.shape, generator=torch.Generator().manual_seed(7)) - 1) * 0.2
    outside = ((x + start) < 0) | ((x + start) > 1)
    assert outside.any() and (clamped != unclamped).any()
    assert torch.equal(clamped[~outside], unclamped[~outside])


def test_noise_is_deterministic_given_the_seed():
    x, _ = random_images(20)
    assert torch.equal(sign_noise(x, 0.1, seed=5), sign_noise(x, 0.1, seed=5))
    assert not torch.equal(sign_noise(x, 0.1, seed=5), sign_noise(x, 0.1, seed=6))


# --- attack success --------------------------------------------------------------------------


def test_attack_success_counts_only_inputs_correct_when_clean():
    model = nn.Sequential(nn.Flatten(), nn.Linear(2, 2, bias=False))
    with torch.no_grad():
        model[1].weight.copy_(torch.eye(2))  # predicts the brighter pixel
    y = torch.tensor([0, 0, 1, 1])
    x = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]]).view(4, 1, 1, 2)
    x_adv = torch.tensor([[0.2, 0.8], [0.9, 0.1], [0.3, 0.7], [0.1, 0.9]]).view(4, 1, 1, 2)
    clean = predict_logits(model, x).argmax(1)
    assert clean.tolist() == [0, 0, 1, 0]
    # Correct when clean: inputs 0, 1, 2; of these only input 0 is fooled.
    assert attack_success(model, x_adv, y, clean) == pytest.approx(1 / 3)
    # Among all inputs, only input 0 is misclassified after the attack.
    assert attack_success(model, x_adv, y) == pytest.approx(1 / 4)
    with pytest.raises(ValueError, match="classified correctly"):
        attack_success(model, x_adv, y, 1 - y)


# --- on a trained MNIST network --------------------------------------------------------------


def test_attacks_raise_the_loss_and_noise_raises_it_least(mnist):
    model, x, y, adversarial = mnist
    clean = cross_entropy(model, x, y)
    fgsm_loss = cross_entropy(model, adversarial["fgsm", 0.1], y)
    pgd_loss = cross_entropy(model, adversarial["pgd", 0.1], y)
    noise_loss = cross_entropy(model, adversarial["noise", 0.1], y)
    assert fgsm_loss > clean + 0.1
    assert pgd_loss > clean + 0.1
    assert noise_loss - clean < 0.5 * (pgd_loss - clean)


@pytest.mark.parametrize("epsilon", [0.1, 0.2])
def test_pgd_succeeds_at_least_as_often_as_fgsm(mnist, epsilon):
    model, x, y, adversarial = mnist
    clean = predict_logits(model, x).argmax(1)
    fgsm_success = attack_success(model, adversarial["fgsm", epsilon], y, clean)
    pgd_success = attack_success(model, adversarial["pgd", epsilon], y, clean)
    noise_success = attack_success(model, adversarial["noise", epsilon], y, clean)
    assert pgd_success >= fgsm_success > noise_success


def test_targeted_pgd_reaches_the_target_class_more_often(mnist):
    model, x, y, adversarial = mnist
    target = (y + 1) % 10
    targeted = pgd(model, x, target, 0.2, targeted=True)
    hits_targeted = (predict_logits(model, targeted).argmax(1) == target).float().mean()
    hits_untargeted = (predict_logits(model, adversarial["pgd", 0.2]).argmax(1) == target)
    assert hits_targeted > hits_untargeted.float().mean() + 0.1


def test_progress_bars_are_shown_on_request(capsys):
    x, y = random_images()
    pgd(linear_model(), x, y, 0.1, steps=2, progress=True)
    assert "PGD" in capsys.readouterr().err
    fgsm(linear_model(), x, y, 0.1)
    assert capsys.readouterr().err == ""


# --- argument checks -------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ATTACKS))
def test_bad_epsilon_is_rejected(name):
    x, y = random_images()
    for epsilon in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="epsilon must be in"):
            attack(name, linear_model(), x, y, epsilon)


@pytest.mark.parametrize("name", list(ATTACKS))
def test_inputs_outside_the_unit_box_are_rejected(name):
    x, y = random_images()
    for bad in (x * 255, x - 0.5):
        with pytest.raises(ValueError, match=r"pixels in \[0, 1\]"):
            attack(name, linear_model(), bad, y, 0.1)
    with pytest.raises(ValueError, match="float tensor"):
        attack(name, linear_model(), (x * 255).to(torch.uint8), y, 0.1)


@pytest.mark.parametrize("name", list(ATTACKS))
def test_bad_labels_are_rejected(name):
    x, y = random_images(12)
    with pytest.raises(ValueError, match=r"y must hold one label per input \(12\), got 11 labels"):
        attack(name, linear_model(), x, y[:11], 0.1)
    for bad in (y.float(), y.view(3, 4), y.bool()):
        with pytest.raises(ValueError, match="1-D integer tensor"):
            attack(name, linear_model(), x, bad, 0.1)


@pytest.mark.parametrize("name", list(ATTACKS))
def test_labels_beyond_the_logits_are_rejected(name):
    x, y = random_images(12)  # the linear model has 2 classes
    too_large = r"y must hold class indices in \[0, 2\) \(the width of the model's logits\), got 2\."
    for label, match in ((2, too_large), (-1, r"y must hold class indices >= 0, got -1\.")):
        with pytest.raises(ValueError, match=match):
            attack(name, linear_model(), x, torch.where(torch.arange(12) == 3, label, y), 0.1)


def test_helpers_that_run_the_model_reject_labels_beyond_its_logits():
    x, y = random_images(12)
    y[3] = 10
    match = r"y must hold class indices in \[0, 2\) \(the width of the model's logits\), got 10\."
    for call in (lambda: correctly_classified(linear_model(), x, y),
                 lambda: attack_success(linear_model(), x, y),
                 lambda: robust_inputs(linear_model(), x, y, 0.1, steps=1),
                 lambda: attack_sweep(linear_model(), x, y, epsilons=(0.1,))):
        with pytest.raises(ValueError, match=match):
            call()


def test_mnist_labels_of_10_are_rejected():
    x, y = torch.rand(4, 1, 28, 28), torch.tensor([0, 10, 2, 3])
    with pytest.raises(ValueError, match=r"y must hold class indices in \[0, 10\) .*got 10\."):
        pgd(build_model("mnist_cnn"), x, y, 0.1)


@pytest.mark.parametrize("shape", [(4, 784), (4, 3, 28, 28)])
@pytest.mark.parametrize("name", list(ATTACKS))
def test_images_of_the_wrong_shape_for_the_model_are_rejected(name, shape):
    x, y = torch.rand(shape), torch.tensor([0, 1, 2, 3])
    match = rf"x must be a batch of images of shape \(n, 1, 28, 28\), got shape {re.escape(str(shape))}\."
    with pytest.raises(ValueError, match=match):
        attack(name, build_model("mnist_cnn"), x, y, 0.1)


def test_attack_success_rejects_nan_pixels():
    x, y = random_images(3)
    x[1, 0, 0, 1] = float("nan")
    with pytest.raises(ValueError, match=r"x_adv must hold pixels in \[0, 1\], got 1 NaN value\(s\)\."):
        attack_success(linear_model(), x, y)


def test_bad_pgd_settings_are_rejected():
    x, y = random_images()
    with pytest.raises(ValueError, match="steps must be >= 1"):
        pgd(linear_model(), x, y, 0.1, steps=0)
    for step_size in (0.0, -0.01):
        with pytest.raises(ValueError, match="step_size must be > 0"):
            pgd(linear_model(), x, y, 0.1, step_size=step_size)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        fgsm(linear_model(), x, y, 0.1, batch_size=0)


def test_unknown_attack_name_lists_the_known_ones():
    x, y = random_images()
    with pytest.raises(ValueError, match="name must be one of 'fgsm', 'pgd', 'noise', got 'cw'."):
        attack("cw", linear_model(), x, y, 0.1)


# --- the attack table ------------------------------------------------------------------------


def test_the_table_names_the_attack_functions():
    assert ATTACKS == {"fgsm": fgsm, "pgd": pgd, "noise": sign_noise_attack}
    x, y = random_images(10)
    model = linear_model()
    torch.testing.assert_close(attack("fgsm", model, x, y, 0.1), fgsm(model, x, y, 0.1))
    torch.testing.assert_close(attack("pgd", model, x, y, 0.1, seed=2), pgd(model, x, y, 0.1, seed=2))
    torch.testing.assert_close(attack("noise", model, x, y, 0.1, seed=2), sign_noise(x, 0.1, seed=2))


@pytest.mark.parametrize("name", list(ATTACKS))
def test_every_attack_takes_the_same_keywords(name):
    x, y = random_images(10)
    model = linear_model()
    x_adv = attack(name, model, x, y, 0.1, seed=3, batch_size=4, progress=False)
    assert x_adv.shape == x.shape


def test_fgsm_ignores_the_seed():
    x, y = random_images(10)
    model = linear_model()
    assert torch.equal(attack("fgsm", model, x, y, 0.1, seed=3), attack("fgsm", model, x, y, 0.1, seed=4))


# --- the attacked set and the sweep ------------------------------------------------------------


def brighter_pixel_model() -> nn.Sequential:
    """Predicts class 0 when the first pixel is brighter, else class 1."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(2, 2, bias=False))
    with torch.no_grad():
        model[1].weight.copy_(torch.eye(2))
    return model.eval()


def test_correctly_classified_keeps_the_inputs_the_model_gets_right():
    x = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]]).view(4, 1, 1, 2)
    y = torch.tensor([0, 1, 1, 1])
    x_right, y_right = correctly_classified(brighter_pixel_model(), x, y)
    torch.testing.assert_close(x_right, x[[0, 2]])
    assert y_right.tolist() == [0, 1]


def hand_sweep() -> AttackSweep:
    """Four inputs of classes 0, 1, 2, 3; predictions chosen by hand."""
    labels = torch.tensor([0, 1, 2, 3])
    predictions = {
        ("pgd", 0.0): labels.clone(),
        ("pgd", 0.1): torch.tensor([0, 5, 2, 3]),  # input 1 fooled
        ("pgd", 0.2): torch.tensor([4, 5, 2, 3]),  # inputs 0, 1 fooled
        ("pgd", 0.3): torch.tensor([4, 1, 9, 3]),  # inputs 0, 2 fooled (1 not, 3 never)
    }
    images = {key: torch.zeros(4, 1, 2, 2) for key in predictions}
    success = {key: float((p != labels).float().mean()) for key, p in predictions.items()}
    return AttackSweep(("pgd",), (0.0, 0.1, 0.2, 0.3), labels, images, predictions, success)


def test_fooled_and_fooling_budget_by_hand():
    sweep = hand_sweep()
    np.testing.assert_array_equal(sweep.fooled("pgd", 0.2), [True, True, False, False])
    assert sweep.fooled("pgd", 0.2).dtype == bool
    # Smallest budget that fools each input; input 1 counts from 0.1 though 0.3 does not fool it.
    np.testing.assert_array_equal(sweep.fooling_budget("pgd"), [0.2, 0.1, 0.3, np.inf])
    with pytest.raises(ValueError, match=r"\(name, epsilon\) must be a pair of the sweep"):
        sweep.fooled("fgsm", 0.2)


@pytest.fixture(scope="module")
def linear_sweep():
    x, y = random_images(60, seed=1)
    x_att, y_att = correctly_classified(linear_model(), x, y)
    sweep = attack_sweep(linear_model(), x_att, y_att, epsilons=(0.0, 0.1, 0.3), pgd_steps=3, seed=5)
    return x_att, y_att, sweep


def test_attack_sweep_matches_the_attacks_one_by_one(linear_sweep):
    x, y, sweep = linear_sweep
    model = linear_model()
    assert 10 < len(y) < 60  # the filter removed some inputs and kept most
    assert sweep.attacks == ("fgsm", "pgd", "noise") and sweep.epsilons == (0.0, 0.1, 0.3)
    assert set(sweep.images) == {(a, e) for a in sweep.attacks for e in sweep.epsilons}
    torch.testing.assert_close(sweep.images["pgd", 0.3], pgd(model, x, y, 0.3, steps=3, seed=5))
    torch.testing.assert_close(sweep.images["noise", 0.1], sign_noise(x, 0.1, seed=5))
    for key, x_adv in sweep.images.items():
        predictions = sweep.predictions[key]
        assert predictions.dtype == torch.int64 and predictions.device.type == "cpu"
        assert torch.equal(predictions, predict_logits(model, x_adv).argmax(1))
        assert sweep.success[key] == pytest.approx(attack_success(model, x_adv, y, y))
        assert sweep.success[key] == pytest.approx(sweep.fooled(*key).mean())
    assert all(sweep.success[name, 0.0] == 0.0 for name in sweep.attacks)
    assert sweep.success["fgsm", 0.3] > sweep.success["fgsm", 0.1] > 0


def test_fooling_budget_of_a_real_sweep_is_the_first_fooling_epsilon(linear_sweep):
    _, _, sweep = linear_sweep
    budget = sweep.fooling_budget("fgsm")
    np.testing.assert_array_equal(budget == 0.1, sweep.fooled("fgsm", 0.1))
    np.testing.assert_array_equal(budget == 0.3, sweep.fooled("fgsm", 0.3) & ~sweep.fooled("fgsm", 0.1))
    assert np.isinf(budget[~sweep.fooled("fgsm", 0.1) & ~sweep.fooled("fgsm", 0.3)]).all()


def test_attack_sweep_refuses_inputs_misclassified_when_clean():
    x = torch.tensor([[0.9, 0.1], [0.3, 0.7]]).view(2, 1, 1, 2)
    with pytest.raises(ValueError, match="x must hold only inputs the model classifies correctly.*1 of 2"):
        attack_sweep(brighter_pixel_model(), x, torch.tensor([0, 0]), epsilons=(0.1,))


def test_attack_sweep_checks_its_settings_before_attacking():
    x, y = correctly_classified(linear_model(), *random_images(20))
    with pytest.raises(ValueError, match="attacks must hold names from 'fgsm', 'pgd', 'noise', got 'cw'"):
        attack_sweep(linear_model(), x, y, attacks=("fgsm", "cw"))
    with pytest.raises(ValueError, match="epsilon must be in"):
        attack_sweep(linear_model(), x, y, epsilons=(0.1, 2.0))
    with pytest.raises(ValueError, match="must not repeat"):
        attack_sweep(linear_model(), x, y, epsilons=(0.1, 0.1))
    with pytest.raises(ValueError, match="must be non-empty"):
        attack_sweep(linear_model(), x, y, attacks=())


def _reference_robust(model, x, y, epsilon, steps, restarts, seed):
    """Robust by definition: right on the clean input and on every PGD iterate of every restart
    (iterate 0 is the random start, uniform in the epsilon ball as `pgd` documents it)."""
    robust = predict_logits(model, x).argmax(1) == y
    for restart in range(restarts):
        generator = torch.Generator().manual_seed(seed + restart)
        start = (x + (2 * torch.rand(x.shape, generator=generator) - 1) * epsilon).clamp(0, 1)
        iterates = [start] + [pgd(model, x, y, epsilon, step_size=2.5 * epsilon / steps, steps=k,
                                  seed=seed + restart) for k in range(1, steps + 1)]
        for x_k in iterates:
            robust &= predict_logits(model, x_k).argmax(1) == y
    return robust.numpy()


def test_robust_inputs_are_those_no_iterate_of_any_restart_breaks(mnist):
    model, x, y, _ = mnist
    x, y = x[:60], y[:60]
    for epsilon, restarts in ((0.1, 1), (0.1, 3), (0.2, 2)):
        robust = robust_inputs(model, x, y, epsilon, steps=5, restarts=restarts, seed=4, batch_size=16)
        expected = _reference_robust(model, x, y, epsilon, steps=5, restarts=restarts, seed=4)
        assert robust.dtype == bool and robust.shape == (60,)
        np.testing.assert_array_equal(robust, expected)


def test_robust_inputs_are_at_most_as_many_as_the_final_iterate_leaves_right(mnist):
    model, x, y, _ = mnist
    final = predict_logits(model, pgd(model, x, y, 0.1, steps=10, seed=0)).argmax(1) == y
    robust = robust_inputs(model, x, y, 0.1, steps=10, seed=0)
    assert robust.sum() <= final.sum()
    assert not (robust & ~final.numpy()).any()
    more_restarts = robust_inputs(model, x, y, 0.1, steps=10, restarts=3, seed=0)
    assert not (more_restarts & ~robust).any()


def test_robust_inputs_at_epsilon_zero_are_the_correctly_classified_ones(mnist):
    model, x, y, _ = mnist
    correct = (predict_logits(model, x).argmax(1) == y).numpy()
    np.testing.assert_array_equal(robust_inputs(model, x, y, 0.0), correct)


def test_robust_inputs_rejects_bad_settings():
    x, y = random_images()
    with pytest.raises(ValueError, match="steps and restarts must be >= 1"):
        robust_inputs(linear_model(), x, y, 0.1, restarts=0)
    with pytest.raises(ValueError, match="epsilon must be in"):
        robust_inputs(linear_model(), x, y, 1.5)
