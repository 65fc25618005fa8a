"""The γ-RNN's shape modes against each other, the batched grid against separate models, and the Henaff init
(docs/papers/activations.md §6: mode equivalences, batched grid, init). Float64 throughout (models cast with
``.double()``).
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from neurodyn.activations.rnn import GammaRNN, GammaRNNGrid, henaff_matrix

torch.set_num_threads(1)
F64 = torch.float64
D_IN, N, C, B, T = 2, 8, 3, 5, 7


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _model(mode: str, n: float = 2.5, s: float = 0.25, seed: int = 0) -> GammaRNN:
    return GammaRNN(D_IN, N, C, n=n, s=s, mode=mode, generator=_gen(seed)).double()


def _batch(seed: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    g = _gen(seed)
    return torch.randn(B, T, D_IN, generator=g, dtype=F64), torch.randint(0, C, (B,), generator=g)


def _weights(model: GammaRNN) -> dict[str, torch.Tensor]:
    return {name: p for name, p in model.named_parameters() if not name.startswith("act.")}


def _loss_and_grads(model: GammaRNN, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    model.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    return loss.detach()


# ---------------------------------------------------------------------------------------------------------------
# modes


def test_same_seed_same_weights_in_every_mode():
    models = {mode: GammaRNN(D_IN, N, C, n=2.5, s=0.25, mode=mode, generator=_gen(3))
              for mode in ("static", "homogeneous", "heterogeneous")}
    ref = _weights(models["static"])
    assert set(ref) == {"U.weight", "U.bias", "V.weight", "V.bias", "out.weight", "out.bias"}
    for model in models.values():
        for name, p in _weights(model).items():
            assert torch.equal(p, ref[name]), name
    other = GammaRNN(D_IN, N, C, n=2.5, s=0.25, mode="static", generator=_gen(4))
    assert not torch.equal(other.U.weight, ref["U.weight"]) and not torch.equal(other.V.weight, ref["V.weight"])
    assert ref["out.bias"].abs().max().item() == 0.0 and ref["U.bias"].abs().max().item() > 0


def test_heterogeneous_with_equal_units_is_homogeneous():
    x, y = _batch()
    hom, het = _model("homogeneous"), _model("heterogeneous")
    assert het.act.n.shape == (N,) and hom.act.n.shape == ()
    logits_hom, states_hom = hom(x, return_states=True)
    logits_het, states_het = het(x, return_states=True)
    assert torch.equal(logits_hom, logits_het)  # exact
    assert torch.equal(states_hom, states_het)
    assert states_hom.shape == (B, T, N) and logits_hom.shape == (B, C)

    _loss_and_grads(hom, x, y)
    _loss_and_grads(het, x, y)
    for name in ("n", "s"):
        per_unit = getattr(het.act, name).grad
        assert per_unit.shape == (N,)
        assert (per_unit - per_unit.mean()).abs().max().item() > 1e-8  # really per unit
        assert abs(getattr(hom.act, name).grad.item() - per_unit.sum().item()) < 1e-10
        assert abs(getattr(hom.act, name).grad.item()) > 1e-6
    for name, p in _weights(het).items():
        assert (p.grad - _weights(hom)[name].grad).abs().max().item() < 1e-10


def test_static_has_no_shape_gradient_and_the_homogeneous_weight_gradients():
    x, y = _batch(11)
    static, hom = _model("static"), _model("homogeneous")
    assert torch.equal(static(x), hom(x))
    _loss_and_grads(static, x, y)
    _loss_and_grads(hom, x, y)
    assert not static.act.n.requires_grad and not static.act.s.requires_grad
    assert static.act.n.grad is None and static.act.s.grad is None
    assert "act.n" not in dict(static.named_parameters()) and "act.n" in dict(static.named_buffers())
    for name, p in _weights(static).items():
        want = _weights(hom)[name].grad
        assert want.abs().max().item() > 0
        assert (p.grad - want).abs().max().item() < 1e-10


# ---------------------------------------------------------------------------------------------------------------
# the batched grid

SHAPES = [(1.0, 0.0, "static"), (5.0, 0.5, "homogeneous"), (10.0, 1.0, "heterogeneous"),
          (2.5, 0.25, "heterogeneous"), (1.0, 1.0, "homogeneous"), (7.5, 0.75, "static")]
SEEDS = [0, 1, 2, 3, 0, 5]


def _grid_and_models() -> tuple[GammaRNNGrid, list[GammaRNN]]:
    grid = GammaRNNGrid.from_shapes(SHAPES, D_IN, N, C, SEEDS).double()
    models = [_model(mode, n, s, seed) for (n, s, mode), seed in zip(SHAPES, SEEDS)]
    return grid, models


def _pairs(grid: GammaRNNGrid, model: GammaRNN) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(grid parameter, the model's parameter) for every weight; row g of the first belongs to configuration g."""
    return [(grid.U, model.U.weight), (grid.b_U, model.U.bias), (grid.V, model.V.weight),
            (grid.b_V, model.V.bias), (grid.W, model.out.weight), (grid.b, model.out.bias)]


def test_grid_holds_the_separate_models():
    grid, models = _grid_and_models()
    assert grid.size == len(SHAPES) and grid.modes == tuple(m for _, _, m in SHAPES)
    assert grid.n.dtype == F64 and grid.n.shape == (len(SHAPES), N)
    for g, model in enumerate(models):
        for stacked, want in _pairs(grid, model):
            assert torch.equal(stacked[g], want)
        assert bool((grid.n[g] == SHAPES[g][0]).all()) and bool((grid.s[g] == SHAPES[g][1]).all())
    params = {id(p) for p in grid.parameters()}
    split = [id(p) for p in grid.weight_parameters() + grid.shape_parameters()]
    assert len(split) == len(set(split)) == len(params) and set(split) == params


def test_grid_losses_and_gradients_equal_separate_models():
    grid, models = _grid_and_models()
    x, y = _batch(12)
    loss, acc = grid.losses(x, y)
    assert loss.shape == acc.shape == (len(SHAPES),)
    loss.sum().backward()
    for g, ((n, s, mode), model) in enumerate(zip(SHAPES, models)):
        logits = model(x)
        want = F.cross_entropy(logits, y)
        want.backward()
        assert abs(loss[g].item() - want.item()) < 1e-10
        assert acc[g].item() == (logits.argmax(-1) == y).double().mean().item()
        for stacked, p in _pairs(grid, model):
            assert p.grad.abs().max().item() > 0
            assert (stacked.grad[g] - p.grad).abs().max().item() < 1e-10
        for name in ("n", "s"):
            got = getattr(grid, name).grad[g]
            if mode == "static":
                assert torch.equal(got, torch.zeros(N, dtype=F64))
            elif mode == "homogeneous":
                want_g = getattr(model.act, name).grad
                assert want_g.shape == () and abs(want_g.item()) > 1e-8
                assert (got - want_g).abs().max().item() < 1e-10  # the shared gradient on every unit
            else:
                want_g = getattr(model.act, name).grad
                assert want_g.shape == (N,) and (want_g - want_g.mean()).abs().max().item() > 1e-10
                assert (got - want_g).abs().max().item() < 1e-10
    # the configurations really differ (different shapes and seeds give different losses)
    assert len({round(v, 8) for v in loss.tolist()}) == len(SHAPES)


def test_grid_adam_step_equals_separate_adam_steps():
    grid, models = _grid_and_models()
    x, y = _batch(13)
    lr = 1e-2
    opt = torch.optim.Adam(grid.parameters(), lr=lr)
    opts = [torch.optim.Adam(m.parameters(), lr=lr) for m in models]
    before = {"n": grid.n.detach().clone(), "s": grid.s.detach().clone()}
    U_before = grid.U.detach().clone()

    opt.zero_grad()
    grid.losses(x, y)[0].sum().backward()
    opt.step()
    for model, o in zip(models, opts):
        o.zero_grad()
        F.cross_entropy(model(x), y).backward()
        o.step()
    assert (grid.U - U_before).abs().max().item() > 0.5 * lr  # the step moved the weights
    for g, ((n, s, mode), model) in enumerate(zip(SHAPES, models)):
        for stacked, p in _pairs(grid, model):
            assert (stacked[g] - p).abs().max().item() < 1e-10
        for name in ("n", "s"):
            row, want = getattr(grid, name)[g], getattr(model.act, name)
            assert (row - want).abs().max().item() < 1e-10
            if mode != "static":
                assert (row - before[name][g]).abs().min().item() > 0.5 * lr


def test_grid_rows_keep_their_mode_under_adam():
    grid, _ = _grid_and_models()
    opt = torch.optim.Adam(grid.parameters(), lr=3e-2)
    before = {"n": grid.n.detach().clone(), "s": grid.s.detach().clone()}
    for step in range(4):
        x, y = _batch(20 + step)
        opt.zero_grad()
        grid.losses(x, y)[0].sum().backward()
        opt.step()
    for g, (_, _, mode) in enumerate(SHAPES):
        for name in ("n", "s"):
            row, start = getattr(grid, name)[g].detach(), before[name][g]
            if mode == "static":
                assert torch.equal(row, start)
            elif mode == "homogeneous":
                assert torch.equal(row, row[0].expand(N))  # one shared pair
                assert abs(row[0].item() - start[0].item()) > 1e-3
            else:
                assert (row - row.mean()).abs().max().item() > 1e-6  # units moved apart
                assert (row - start).abs().max().item() > 1e-2


# ---------------------------------------------------------------------------------------------------------------
# Henaff init


def _block_angles(V: torch.Tensor) -> torch.Tensor:
    """θ_k of the 2×2 rotation blocks on V's diagonal, after checking the blocks are the only non-zeros."""
    n = V.shape[0]
    mask = torch.zeros(n, n, dtype=torch.bool)
    theta = []
    for k in range(n // 2):
        blk = V[2 * k:2 * k + 2, 2 * k:2 * k + 2]
        mask[2 * k:2 * k + 2, 2 * k:2 * k + 2] = True
        th = math.atan2(blk[0, 1].item(), blk[0, 0].item())
        rot = torch.tensor([[math.cos(th), math.sin(th)], [-math.sin(th), math.cos(th)]], dtype=F64)
        assert (blk - rot).abs().max().item() < 1e-12
        theta.append(th)
    if n % 2:
        mask[-1, -1] = True
    assert V[~mask].abs().max().item() == 0.0
    return torch.tensor(theta, dtype=F64)


def _match(eig: torch.Tensor, want: torch.Tensor) -> float:
    """Largest distance from each wanted eigenvalue to its nearest computed one, with one-to-one matching."""
    left = list(eig.tolist())
    worst = 0.0
    for w in want.tolist():
        d = [abs(e - w) for e in left]
        j = min(range(len(d)), key=d.__getitem__)
        worst = max(worst, d[j])
        left.pop(j)
    return worst


@pytest.mark.parametrize("size", [8, 7, 64])
def test_henaff_matrix_is_an_orthogonal_rotation(size):
    V = henaff_matrix(size, _gen(size), dtype=F64)
    assert V.shape == (size, size) and V.dtype == F64
    assert torch.linalg.matrix_norm(V.T @ V - torch.eye(size, dtype=F64)).item() < 1e-10
    theta = _block_angles(V)
    assert len(theta) == size // 2
    assert bool((theta <= 0).all()) and bool((theta >= -math.pi).all())  # θ ~ U(−π, 0)
    eig = torch.linalg.eigvals(V)
    assert (eig.abs() - 1).abs().max().item() < 1e-10  # on the unit circle
    want = torch.cat([torch.exp(1j * theta), torch.exp(-1j * theta)])
    if size % 2:
        assert V[-1, -1].item() == 1.0  # the 1×1 zero block of A: eigenvalue exactly 1
        want = torch.cat([want, torch.ones(1, dtype=want.dtype)])
        assert (eig - 1).abs().min().item() < 1e-12
    assert len(want) == size
    assert _match(eig, want) < 1e-10
    assert not torch.equal(V, henaff_matrix(size, _gen(size + 1), dtype=F64))
    assert torch.equal(V, henaff_matrix(size, _gen(size), dtype=F64))


def test_gamma_rnn_recurrent_weights_are_henaff():
    model = GammaRNN(D_IN, 9, C, generator=_gen(6))
    V = model.V.weight.detach().double()
    assert torch.linalg.matrix_norm(V.T @ V - torch.eye(9, dtype=F64)).item() < 1e-5  # float32 weights
    assert V[-1, -1].item() == 1.0
