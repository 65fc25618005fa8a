"""Spectral Decoupling and the exact pieces of Gradient Starvation against closed forms and the card's published
numbers (``docs/papers/starvation.md`` §6, checks 1, 2, 3, 4, 5, 7), plus the per-class variant and the input guards.

Float64 unless a check is about float32.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import make_moons

from neurodyn.starvation.functional import (
    CELEBA_COEF,
    CELEBA_GAMMAS,
    feature_responses,
    lambert_w_margin,
    linear_toy,
    per_class_decoupling_loss,
    sd_fixed_point,
    spectral_decoupling_loss,
    two_moons,
)

torch.set_num_threads(1)
F64 = torch.float64
U_T_ONE = (1.36603, 0.36603)  # Uᵀ1 for the toy's rotation with sine 1/2: (cos 30° + 1/2, cos 30° − 1/2)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _binary(seed: int, b: int = 10, dtype=F64) -> tuple[torch.Tensor, torch.Tensor]:
    g = _gen(seed)
    logits = 3 * torch.randn(b, generator=g, dtype=dtype)
    targets = (torch.rand(b, generator=g) < 0.5).to(dtype)
    targets[0], targets[1] = 0.0, 1.0  # both classes present
    return logits, targets


def _multi(seed: int, b: int = 12, c: int = 5, dtype=F64) -> tuple[torch.Tensor, torch.Tensor]:
    g = _gen(seed)
    return 3 * torch.randn(b, c, generator=g, dtype=dtype), torch.randint(0, c, (b,), generator=g)


# ---------------------------------------------------------------------------------------------------------------
# check 1: the SD fixed point


@pytest.mark.parametrize("lam, u_star", [(0.002, 4.66512), (0.006, 3.76689), (0.02, 2.81799), (0.2, 1.17751)])
def test_fixed_point_card_values(lam, u_star):
    u = sd_fixed_point(lam)
    assert abs(u - u_star) < 1e-5
    assert abs(lam * u - 1 / (1 + math.exp(u))) < 1e-13  # λu = σ(−u)


def test_lambert_w_approximation():
    assert abs(lambert_w_margin(0.002) - 4.6728) < 1e-4
    w = lambert_w_margin(0.002)
    assert abs(w * math.exp(w) - 500.0) < 1e-9  # W(1/λ) e^{W(1/λ)} = 1/λ
    # the approximation overshoots and improves as λ → 0
    gaps = [lambert_w_margin(lam) - sd_fixed_point(lam) for lam in (0.2, 0.02, 0.002, 2e-5)]
    assert all(gap > 0 for gap in gaps)
    assert gaps == sorted(gaps, reverse=True) and gaps[-1] < 2e-4


@pytest.mark.parametrize("lam, reduction", [(0.002, "mean"), (0.006, "mean"), (0.02, "mean"), (0.2, "mean"),
                                            (0.006, "sum")])
def test_free_logit_model_converges_to_fixed_point(lam, reduction):
    """One learnable logit per example, the SD loss with c = λ/2: every margin y·ŷ goes to u*(λ)."""
    b = 8
    targets = torch.tensor([1, 0, 0, 1, 1, 0, 1, 1], dtype=F64)
    logits = (0.5 * torch.randn(b, generator=_gen(3), dtype=F64)).requires_grad_(True)
    lr = 3.0 * b if reduction == "mean" else 3.0  # per-logit step 3 < 2 / max curvature (1/4 + λ)
    for _ in range(600):
        loss = spectral_decoupling_loss(logits, targets, lam / 2, reduction=reduction)
        (grad,) = torch.autograd.grad(loss, logits)
        with torch.no_grad():
            logits -= lr * grad
    margins = (2 * targets - 1) * logits.detach()
    assert (margins - sd_fixed_point(lam)).abs().max().item() < 1e-4


# ---------------------------------------------------------------------------------------------------------------
# check 2: starvation on the linear toy, and its absence under SD

S1 = (2.0, 3.0, 4.0, 5.0, 6.0)
WD_Z1 = (6.12, 7.07, 7.81, 8.47, 9.08)
WD_Z2 = (1.64, 1.58, 1.47, 1.33, 1.18)


@pytest.fixture(scope="module")
def toy_runs():
    return {reg: [linear_toy(s1, 2.0, reg=reg) for s1 in S1] for reg in ("wd", "sd")}


def test_toy_weight_decay_starves_the_second_feature(toy_runs):
    z = np.array([r.z for r in toy_runs["wd"]])
    assert np.abs(z[:, 0] - WD_Z1).max() < 0.01
    assert np.abs(z[:, 1] - WD_Z2).max() < 0.01
    assert np.all(np.diff(z[:, 1]) < 0)  # z2 strictly decreasing in s1: gradient starvation
    assert np.all(np.diff(z[:, 0]) > 0)


def test_toy_spectral_decoupling_decouples(toy_runs):
    z = np.array([r.z for r in toy_runs["sd"]])
    assert (z.max(0) - z.min(0)).max() < 1e-3  # independent of s1
    assert np.abs(z - 4.66512 * np.array(U_T_ONE)).max() < 1e-3
    exact = sd_fixed_point(0.002) * (math.cos(math.pi / 6) + np.array([0.5, -0.5]))  # u*(λ) Uᵀ1
    assert np.abs(z - exact).max() < 1e-4


def test_toy_path_and_arguments(toy_runs):
    r = toy_runs["wd"][0]
    assert r.path.shape == (5001, 2) and r.path.dtype == np.float64
    assert np.all(r.path[0] == 0) and np.array_equal(r.path[-1], r.z)
    short = linear_toy(2.0, steps=10)
    assert np.array_equal(short.path, r.path[:11])
    assert np.array_equal(linear_toy(3.0, steps=0).z, [0.0, 0.0])
    # one step from θ = 0: θ = (lr/2) φᵀ1, so z = Uᵀφφᵀ1·lr/2 = (lr/2)·S²Uᵀ1 (φφᵀ = U S² Uᵀ)
    for s1 in (2.0, 5.0):
        one = linear_toy(s1, steps=1, lr=0.05).z
        assert np.abs(one - 0.025 * np.array([s1 ** 2, 4.0]) * np.array(U_T_ONE)).max() < 1e-4


# ---------------------------------------------------------------------------------------------------------------
# check 3: c = 0 is plain cross-entropy, and the penalty's gradient


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_zero_coef_is_plain_cross_entropy_bitwise(dtype, reduction):
    logits, t = _binary(0, dtype=dtype)
    got = spectral_decoupling_loss(logits, t, 0.0, reduction=reduction)
    assert torch.equal(got, F.binary_cross_entropy_with_logits(logits, t, reduction=reduction))
    logits, y = _multi(1, dtype=dtype)
    got = spectral_decoupling_loss(logits, y, 0, reduction=reduction)
    assert torch.equal(got, F.cross_entropy(logits, y, reduction=reduction))
    assert not torch.equal(spectral_decoupling_loss(logits, y, 1e-3, reduction=reduction), got)


@pytest.mark.parametrize("kind", ["binary", "multi"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_penalty_gradient_is_2c_yhat_over_n(kind, reduction):
    c = 0.37
    logits, t = _binary(2) if kind == "binary" else _multi(2)
    x = logits.clone().requires_grad_(True)
    (g_sd,) = torch.autograd.grad(spectral_decoupling_loss(x, t, c, reduction=reduction), x)
    (g_ce,) = torch.autograd.grad(spectral_decoupling_loss(x, t, 0.0, reduction=reduction), x)
    n = logits.numel() if reduction == "mean" else 1
    assert (g_sd - g_ce - 2 * c * logits / n).abs().max().item() < 1e-12


def test_binary_loss_is_the_logistic_loss_of_the_paper():
    """Sum form with c = λ/2: 1ᵀ log(1 + exp(−Y ŷ)) + (λ/2)||ŷ||²; mean form = sum form / B."""
    lam = 0.02
    logits, t = _binary(4)
    s = 2 * t - 1
    paper = torch.log1p(torch.exp(-s * logits)).sum() + lam / 2 * (logits ** 2).sum()
    total = spectral_decoupling_loss(logits, t, lam / 2, reduction="sum")
    assert abs(total.item() - paper.item()) < 1e-12
    assert abs(spectral_decoupling_loss(logits, t, lam / 2).item() - paper.item() / len(t)) < 1e-13
    # integer targets give the same value
    as_int = spectral_decoupling_loss(logits, t.long(), lam / 2)
    assert as_int.item() == spectral_decoupling_loss(logits, t, lam / 2).item()


def test_multi_class_mean_and_sum_forms():
    c = 0.3
    logits, y = _multi(5, b=7, c=4)
    mean = spectral_decoupling_loss(logits, y, c)
    total = spectral_decoupling_loss(logits, y, c / 4, reduction="sum")
    assert abs(mean.item() - total.item() / 7) < 1e-13  # mean form(c) = sum form(c / C) / B


# ---------------------------------------------------------------------------------------------------------------
# check 4: DomainBed's SD objective


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("sd_reg", [0.1, 1e-5, 0.0])
def test_multi_class_equals_domainbed_sd(dtype, sd_reg):
    logits, y = _multi(6, b=32, c=7, dtype=dtype)
    domainbed = F.cross_entropy(logits, y) + sd_reg * (logits ** 2).mean()
    got = spectral_decoupling_loss(logits, y, sd_reg)
    assert got.dtype == dtype
    assert abs(got.item() - domainbed.item()) < 1e-7 * max(1.0, abs(domainbed.item()))


# ---------------------------------------------------------------------------------------------------------------
# the per-class variant ("spw3")


def _per_class_by_hand(logits, t, c, gammas):
    total = 0.0
    for yh, ti in zip(logits.tolist(), t.tolist()):
        total += math.log1p(math.exp(-(2 * ti - 1) * yh))
    loss = total / len(t)
    for k, gamma in enumerate(gammas):
        members = [yh for yh, ti in zip(logits.tolist(), t.tolist()) if ti == k]
        if members:
            loss += c * sum((yh - gamma) ** 2 for yh in members) / len(members)
    return loss


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_per_class_variant_against_hand_formula(seed):
    logits, t = _binary(seed, b=13)
    got = per_class_decoupling_loss(logits, t, CELEBA_COEF, CELEBA_GAMMAS)
    assert abs(got.item() - _per_class_by_hand(logits, t, CELEBA_COEF, CELEBA_GAMMAS)) < 1e-12
    swapped = per_class_decoupling_loss(logits, t, CELEBA_COEF, CELEBA_GAMMAS[::-1])
    assert abs(swapped.item() - got.item()) > 1e-3  # γ is indexed by class


def test_per_class_defaults_and_special_cases():
    assert CELEBA_COEF == 0.1 and CELEBA_GAMMAS == (0.44, 2.5)
    logits = torch.randn(8, generator=_gen(7), dtype=F64)
    balanced = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1], dtype=F64)
    # γ = 0 with balanced classes: SD with twice the coefficient
    got = per_class_decoupling_loss(logits, balanced, 0.2, (0.0, 0.0))
    assert abs(got.item() - spectral_decoupling_loss(logits, balanced, 0.4).item()) < 1e-14
    # unbalanced: not SD any more
    unbalanced = torch.tensor([0, 1, 1, 1, 1, 1, 1, 1], dtype=F64)
    got = per_class_decoupling_loss(logits, unbalanced, 0.2, (0.0, 0.0))
    assert abs(got.item() - spectral_decoupling_loss(logits, unbalanced, 0.4).item()) > 1e-3
    # an absent class contributes nothing
    ones = torch.ones(8, dtype=F64)
    got = per_class_decoupling_loss(logits, ones, 0.1, (0.44, 2.5))
    expected = F.binary_cross_entropy_with_logits(logits, ones) + 0.1 * ((logits - 2.5) ** 2).mean()
    assert abs(got.item() - expected.item()) < 1e-14


# ---------------------------------------------------------------------------------------------------------------
# check 5: two moons with a margin


@pytest.mark.parametrize("margin", [0.1, 0.3, 0.02])
@pytest.mark.parametrize("seed", [0, 4])
def test_positive_margin_separates_along_x(margin, seed):
    x, s = two_moons(300, margin, generator=seed)
    m = torch.tensor(margin, dtype=torch.float32)
    assert bool((x[s > 0, 0] <= -m).all()) and bool((x[s < 0, 0] >= m).all())
    # the gap is attained (up to the noise): the closest points are near ±Δ
    assert x[s > 0, 0].max().item() > -margin - 0.05 and x[s < 0, 0].min().item() < margin + 0.05


@pytest.mark.parametrize("margin", [-0.1, -0.2])
def test_negative_margin_overlap_band(margin):
    x, s = two_moons(300, margin, generator=0)
    width = abs(margin)
    assert bool((x[s > 0, 0] <= width).all()) and bool((x[s < 0, 0] >= -width).all())
    band = x[:, 0].abs() < width
    assert int((band & (s > 0)).sum()) > 0 and int((band & (s < 0)).sum()) > 0  # both classes in the band
    assert bool((x[s > 0, 0] > 0).any()) and bool((x[s < 0, 0] < 0).any())  # so not separable at x = 0


def test_construction_columns_labels_and_types():
    x, s = two_moons(301, 0.1, noise=0.05, generator=3)
    ref_x, ref_label = make_moons(n_samples=301, noise=0.05, random_state=3)
    assert x.shape == (301, 2) and x.dtype == torch.float32 and s.shape == (301,) and s.dtype == torch.float32
    assert torch.equal(s, torch.as_tensor(2.0 * ref_label - 1.0, dtype=torch.float32))
    # column swap: the vertical axis is make_moons' first coordinate shifted by −1/2 (the moons run vertically)
    assert torch.equal(x[:, 1], torch.as_tensor(ref_x[:, 0] - 0.5, dtype=torch.float32))
    span = x.max(0).values - x.min(0).values
    assert span[1] > 3.0 and span[1] > 1.2 * span[0]  # taller than wide
    # centring happened before the fold: |x| - Δ of the folded column has its pre-fold mean 0
    raw = ref_x[:, 1] - 0.3 * (2.0 * ref_label - 1.0)
    centred = raw - raw.mean()
    assert np.abs(np.abs(centred) + 0.1 - np.abs(x[:, 0].double().numpy())).max() < 1e-6
    x2, s2 = two_moons(301, 0.1, noise=0.05, generator=3)
    assert torch.equal(x, x2) and torch.equal(s, s2)
    assert not torch.equal(two_moons(301, 0.1, noise=0.05, generator=4)[0], x)


@pytest.mark.parametrize("angle", [45.0, -30.0, 90.0])
def test_rotation_preserves_norms_and_is_x_times_r(angle):
    x0, s0 = two_moons(200, 0.1, generator=1)
    x, s = two_moons(200, 0.1, rotation=angle, generator=1)
    assert torch.equal(s, s0)
    assert (x.norm(dim=1) - x0.norm(dim=1)).abs().max().item() < 1e-5
    a = math.radians(angle)
    r = torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    assert (x - x0 @ r).abs().max().item() < 1e-5
    assert (x - x0).abs().max().item() > 0.1


# ---------------------------------------------------------------------------------------------------------------
# check 7: the feature-response identity


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_feature_responses_match_paper_basis(seed):
    n, p = 6, 10
    g = _gen(seed)
    J = torch.randn(n, p, generator=g, dtype=F64)
    y = torch.tensor([1.0, -1.0, -1.0, 1.0, -1.0, 1.0], dtype=F64)
    Y = torch.diag(y)
    thetas = torch.randn(4, p, generator=g, dtype=F64)
    yhat = thetas @ J.T  # (T, n), ŷ = J θ
    u_paper, _, _ = torch.linalg.svd(Y @ J, full_matrices=False)  # descending singular values
    z_paper = (yhat * y) @ u_paper  # rows: U_paperᵀ Y ŷ
    got = feature_responses(J @ J.T, yhat, n)
    assert got.shape == (4, n)
    assert (got - z_paper.abs()).abs().max().item() < 1e-10
    # up to per-component sign: U_code = Y U_paper, columns matched with a sign each
    _, vecs = torch.linalg.eigh(J @ J.T)
    u_code = vecs.flip(-1)
    signs = torch.sign((u_code * (Y @ u_paper)).sum(0))
    assert (u_code - Y @ u_paper * signs).abs().max().item() < 1e-10
    # ||z|| = ||ŷ|| when all n components are kept; top-k and a single ŷ
    assert (got.norm(dim=1) - yhat.norm(dim=1)).abs().max().item() < 1e-10
    top2 = feature_responses(J @ J.T, yhat[0], 2)
    assert top2.shape == (2,) and (top2 - z_paper[0, :2].abs()).abs().max().item() < 1e-10
    # forgetting the labels (Uᵀ applied without Y) would not match: the check can tell
    assert (got - (yhat @ u_paper).abs()).abs().max().item() > 1e-3


# ---------------------------------------------------------------------------------------------------------------
# input guards


def test_loss_guards():
    logits, t = _binary(0)
    mlogits, my = _multi(0, c=5)
    cases = [
        (lambda: spectral_decoupling_loss(logits, t * 2, 0.1), "binary targets must be 0 or 1"),
        (lambda: spectral_decoupling_loss(logits, 2 * t - 1, 0.1), "binary targets must be 0 or 1"),
        (lambda: spectral_decoupling_loss(mlogits, my + 5, 0.1), r"must lie in \[0, 5\)"),
        (lambda: spectral_decoupling_loss(mlogits, my - 9, 0.1), r"must lie in \[0, 5\)"),
        (lambda: spectral_decoupling_loss(mlogits, my.float(), 0.1), "must be int64 class indices"),
        (lambda: spectral_decoupling_loss(logits, t, -0.1), "coef must be a finite number >= 0"),
        (lambda: spectral_decoupling_loss(logits, t, math.inf), "coef must be a finite number >= 0"),
        (lambda: spectral_decoupling_loss(logits, t, math.nan), "coef must be a finite number >= 0"),
        (lambda: spectral_decoupling_loss(torch.full_like(logits, math.nan), t, 0.1), "must be finite"),
        (lambda: spectral_decoupling_loss(logits.clone().fill_(math.inf), t, 0.1), "must be finite"),
        (lambda: spectral_decoupling_loss(logits, t[:-1], 0.1), "must have the shape of the logits"),
        (lambda: spectral_decoupling_loss(mlogits, my[:-1], 0.1), r"must have shape \(B,\)"),
        (lambda: spectral_decoupling_loss(mlogits[None], my, 0.1), r"\(B,\) \(binary\) or \(B, C\)"),
        (lambda: spectral_decoupling_loss(logits[:0], t[:0], 0.1), "at least one example"),
        (lambda: spectral_decoupling_loss(logits, t, 0.1, reduction="none"), "reduction must be"),
        (lambda: per_class_decoupling_loss(logits, t + 1, 0.1, (0.44, 2.5)), "binary targets must be 0 or 1"),
        (lambda: per_class_decoupling_loss(mlogits, my, 0.1, (0.44, 2.5)), "one logit per example"),
        (lambda: per_class_decoupling_loss(logits, t, -1.0, (0.44, 2.5)), "coef must be"),
        (lambda: per_class_decoupling_loss(logits, t, 0.1, (0.44,)), "gammas must be two finite numbers"),
        (lambda: per_class_decoupling_loss(logits, t, 0.1, (0.44, math.nan)), "gammas must be two finite"),
        (lambda: per_class_decoupling_loss(logits.clone().fill_(math.nan), t, 0.1, (0, 0)), "must be finite"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match):
            call()


def test_other_guards():
    k = torch.eye(3, dtype=F64)
    cases = [
        (lambda: sd_fixed_point(0.0), r"lam \(λ\) must be a finite number > 0"),
        (lambda: sd_fixed_point(-0.1), r"lam \(λ\) must be"),
        (lambda: lambert_w_margin(math.inf), r"lam \(λ\) must be"),
        (lambda: two_moons(1), "n must be an integer >= 2"),
        (lambda: two_moons(300, math.nan), "margin must be a finite number"),
        (lambda: two_moons(300, 0.1, noise=-1.0), "noise must be >= 0"),
        (lambda: two_moons(300, 0.1, rotation=math.inf), "rotation must be a finite number"),
        (lambda: linear_toy(0.0), "s1 must be a finite number > 0"),
        (lambda: linear_toy(2.0, reg="l1"), "reg must be 'wd'"),
        (lambda: linear_toy(2.0, steps=-1), "steps must be an integer >= 0"),
        (lambda: linear_toy(2.0, lr=math.nan), "lr must be a finite number > 0"),
        (lambda: feature_responses(torch.ones(3, 2, dtype=F64), torch.ones(3, dtype=F64), 1), "K must be a square"),
        (lambda: feature_responses(torch.tensor([[1.0, 2.0], [0.0, 1.0]]), torch.ones(2), 1), "K must be symmetric"),
        (lambda: feature_responses(k, torch.ones(4, dtype=F64), 1), r"yhat must have shape \(3,\)"),
        (lambda: feature_responses(k, torch.ones(3, dtype=F64), 4), r"k must be an integer in \[1, 3\]"),
        (lambda: feature_responses(k, torch.ones(3, dtype=F64), 0), r"k must be an integer in \[1, 3\]"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match):
            call()


def test_two_moons_generator_forms():
    x0, s0 = two_moons(120, 0.1, generator=7)
    x1, s1 = two_moons(120, 0.1, generator=np.random.RandomState(7))
    assert torch.equal(x0, x1) and torch.equal(s0, s1)  # an int seed is make_moons' random_state as is
    a = two_moons(120, 0.1, generator=torch.Generator().manual_seed(3))[0]
    b = two_moons(120, 0.1, generator=torch.Generator().manual_seed(3))[0]
    c = two_moons(120, 0.1, generator=np.random.default_rng(3))[0]
    assert torch.equal(a, b) and not torch.equal(a, x0) and c.shape == (120, 2)
    with pytest.raises(ValueError, match="generator must be a seed"):
        two_moons(120, 0.1, generator=-1)
    with pytest.raises(ValueError, match="generator must be a seed"):
        two_moons(120, 0.1, generator="seven")
