"""World models and the contrastive loss (paper card §2.5-2.6, §6): identities, symmetries, counts, a short fit."""

from __future__ import annotations

import pytest
import torch

from neurodyn.causal.models import (
    KINDS,
    WorldModel,
    contrastive_loss,
    energy,
    grid_size,
    reference_parameter_count,
)

torch.set_num_threads(1)

VARIANTS = [("monolithic", False), ("modular", False), ("gnn", False), ("gnn", True)]


def _model(kind: str, n: int = 3, a: int = 5, action_aware: bool = False, seed: int = 0, **kw) -> WorldModel:
    side = 5 * grid_size(n)
    return WorldModel(kind, n, a, (3, side, side), action_aware=action_aware,
                      generator=torch.Generator().manual_seed(seed), **kw)


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("n", [3, 5, 7])
@pytest.mark.parametrize("kind, aware", VARIANTS)
def test_shapes(kind, aware, n):
    model = _model(kind, n, action_aware=aware)
    gen = torch.Generator().manual_seed(1)
    obs = torch.rand(6, 3, 5 * grid_size(n), 5 * grid_size(n), generator=gen)
    z = model.encode(obs)
    assert z.shape == (6, n, 4)
    actions = torch.randint(0, n * 5, (6, 3), generator=gen)
    assert model.transition(z, actions[:, 0]).shape == (6, n, 4)
    assert model.rollout(z, actions).shape == (6, n, 4)
    assert model.rollout(z, actions[:, :0]) is z


def test_grid_and_cell():
    assert [grid_size(n) for n in range(1, 11)] == [2, 3, 3, 3, 4, 4, 4, 4, 4, 5]
    model = WorldModel("gnn", 3, 5, (3, 15, 15))
    assert (model.grid, model.cell) == (3, 5)
    assert WorldModel("modular", 4, 5, (3, 20, 20), grid=4).cell == 5
    with pytest.raises(ValueError, match="image_shape"):
        WorldModel("modular", 4, 5, (3, 20, 20))  # g = 3 does not divide 20
    with pytest.raises(ValueError, match="kind"):
        WorldModel("vae", 3, 5, (3, 15, 15))
    with pytest.raises(ValueError, match="action_aware"):
        WorldModel("modular", 3, 5, (3, 15, 15), action_aware=True)


def test_energy_is_twice_the_mean_slot_distance():
    gen = torch.Generator().manual_seed(2)
    x, y = torch.randn(8, 5, 4, generator=gen, dtype=torch.float64), torch.randn(8, 5, 4, generator=gen,
                                                                                  dtype=torch.float64)
    expected = 2.0 * ((x - y) ** 2).sum(-1).mean(-1)
    torch.testing.assert_close(energy(x, y, sigma=0.5), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_zero_last_layer_gives_identity(kind):
    model = _model(kind)
    with torch.no_grad():
        for p in model.transition_net.last_layer:
            p.zero_()
    z = torch.randn(4, 3, 4, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(model.transition(z, torch.tensor([0, 4, 7, 14])), z, rtol=0, atol=0)


@pytest.mark.parametrize("effect_negative", [False, True])
def test_contrastive_loss_equals_gamma_when_everything_coincides(effect_negative):
    model = _model("modular")
    with torch.no_grad():
        for p in model.transition_net.last_layer:
            p.zero_()  # z_hat' = z
    obs = torch.rand(1, 3, 15, 15, generator=torch.Generator().manual_seed(4)).expand(6, -1, -1, -1)
    action = torch.arange(6)
    loss, stats = contrastive_loss(model, obs, action, obs.clone(), gamma=1.5, effect_negative=effect_negative,
                                   generator=torch.Generator().manual_seed(0))  # every negative = the anchor
    assert loss.item() == pytest.approx(1.5, abs=1e-6)
    assert stats == pytest.approx({"loss": 1.5, "positive": 0.0, "hinge": 1.5, "effect": 0.0}, abs=1e-6)


def test_effect_negative_averages_over_changed_transitions():
    model = _model("gnn")
    gen = torch.Generator().manual_seed(5)
    obs = torch.rand(4, 3, 15, 15, generator=gen)
    nxt = obs.clone()
    nxt[1, 0, 2, 2] += 0.5  # only transition 1 changes
    perm_gen = torch.Generator().manual_seed(9)
    _, with_effect = contrastive_loss(model, obs, torch.zeros(4, dtype=torch.long), nxt, generator=perm_gen)
    z = model.encode(torch.cat([obs, nxt]))
    expected = (1.0 - energy(z[1:2], z[5:6])).clamp_min(0).item()
    assert with_effect["effect"] == pytest.approx(expected, rel=1e-5, abs=1e-7)
    assert with_effect["loss"] == pytest.approx(sum(with_effect[k] for k in ("positive", "hinge", "effect")),
                                                rel=1e-6)


@pytest.mark.parametrize("aware", [False, True])
def test_gnn_is_permutation_equivariant(aware):
    n, a = 5, 3
    model = _model("gnn", n, a, action_aware=aware)
    gen = torch.Generator().manual_seed(6)
    z = torch.randn(16, n, 4, generator=gen)
    action = torch.randint(0, n * a, (16,), generator=gen)
    perm = torch.randperm(n, generator=gen)  # new slot k holds old slot perm[k]
    inverse = torch.argsort(perm)
    moved = inverse[action // a] * a + action % a  # the action follows its object
    out = model.transition(z, action)
    torch.testing.assert_close(model.transition(z[:, perm], moved), out[:, perm], rtol=0, atol=1e-5)


def test_modular_slots_depend_only_on_their_module():
    n = 4
    model = _model("modular", n)
    gen = torch.Generator().manual_seed(7)
    z = torch.randn(8, n, 4, generator=gen)
    action = torch.randint(0, n * 5, (8,), generator=gen)
    out = model.transition(z, action)
    params = list(model.transition_net.parameters())
    for k in range(n):
        grads = torch.autograd.grad(out[:, k].pow(2).sum(), params, retain_graph=True)
        for grad in grads:
            assert grad.shape[0] == n
            others = torch.cat([grad[:k], grad[k + 1:]])
            assert torch.equal(others, torch.zeros_like(others))
            assert grad[k].abs().sum() > 0


@pytest.mark.parametrize("n", [3, 5])
@pytest.mark.parametrize("kind", KINDS)
def test_parameter_counts_match_reference_at_paper_sizes(kind, n):
    model = WorldModel(kind, n, 5, (3, 50, 50), latent_dim=128, encoder_width=512, transition_width=512,
                       maps_per_slot=1, grid=10, generator=torch.Generator().manual_seed(0))
    assert _count(model.transition_net) == reference_parameter_count(kind, n, part="transition")
    assert _count(model.object_encoder) == reference_parameter_count(kind, n, part="object_encoder")
    total = reference_parameter_count(kind, n)
    assert total == sum(reference_parameter_count(kind, n, part=p) for p in ("extractor", "object_encoder",
                                                                             "transition"))


def test_reference_counts_by_hand():
    # medium extractor, N = 5: Conv 3*32*81 + 32, BatchNorm 2*32, Conv 32*5*25 + 5
    assert reference_parameter_count("gnn", 5, part="extractor") == 7808 + 64 + 4005
    # GNN, H = 512, D = 128, A = 5: edge (256*512+512) + (512*512+512) + 1024 + (512*512+512)
    #                               node (645*512+512) + (512*512+512) + 1024 + (512*128+128)
    edge = 131584 + 262656 + 1024 + 262656
    node = 330752 + 262656 + 1024 + 65664
    assert reference_parameter_count("gnn", 5, part="transition") == edge + node
    # one modular module at N = 5: h = 102, s = 640, a = 25, out = 128
    module = (25 * 102 + 102) + (640 * 102 + 102) + (204 * 102 + 102) + 204 + (102 * 204 + 204) + 408 \
        + (204 * 128 + 128)
    assert reference_parameter_count("modular", 5, part="transition") == 5 * module


def test_construction_leaves_global_rng_alone_and_is_seeded():
    state = torch.get_rng_state().clone()
    first = [_model(kind, 3, seed=11).state_dict() for kind in KINDS]
    assert torch.equal(torch.get_rng_state(), state)
    second = [_model(kind, 3, seed=11).state_dict() for kind in KINDS]
    third = _model("gnn", 3, seed=12).state_dict()
    for a, b in zip(first, second):
        assert a.keys() == b.keys()
        assert all(torch.equal(a[key], b[key]) for key in a)
    assert not all(torch.equal(first[2][key], third[key]) for key in third)


def _toy_batch(gen: torch.Generator, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """3 objects on the diagonal of a 3x3 grid of 5 px cells, each red or green; action i*2+c paints object i c."""
    colours = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    state = torch.randint(0, 2, (batch, 3), generator=gen)
    action = torch.randint(0, 6, (batch,), generator=gen)
    after = state.clone()
    after[torch.arange(batch), action // 2] = action % 2

    def render(s: torch.Tensor) -> torch.Tensor:
        img = torch.zeros(batch, 3, 15, 15)
        for i in range(3):
            img[:, :, 5 * i + 1:5 * i + 4, 5 * i + 1:5 * i + 4] = colours[s[:, i]][:, :, None, None]
        return img

    return render(state), action, render(after)


def test_contrastive_training_reduces_loss():
    model = WorldModel("modular", 3, 2, (3, 15, 15), generator=torch.Generator().manual_seed(0))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    data_gen, perm_gen = torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)
    losses = []
    for _ in range(150):
        obs, action, nxt = _toy_batch(data_gen, 32)
        loss, stats = contrastive_loss(model, obs, action, nxt, generator=perm_gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(stats["loss"])
    first, last = sum(losses[:20]) / 20, sum(losses[-30:]) / 30
    assert last < 0.3 * first, (first, last)


def test_reconstruction_loss_is_the_sum_of_its_terms_and_trains():
    """The joint form of card §2.6: BCE of both decoded images plus the latent error, summed and divided by B."""
    import torch.nn.functional as F

    from neurodyn.causal.models import reconstruction_loss

    gen = torch.Generator().manual_seed(4)
    model = WorldModel("modular", 3, 2, (3, 15, 15), decoder=True, generator=torch.Generator().manual_seed(1))
    obs = (torch.rand(8, 3, 15, 15, generator=gen) > 0.7).float()  # binary pixels: the BCE can fall towards 0
    nxt = (torch.rand(8, 3, 15, 15, generator=gen) > 0.7).float()
    act = torch.randint(0, 6, (8,), generator=gen)
    loss, stats = reconstruction_loss(model, obs, act, nxt)
    z, z2 = model.encode(obs), model.encode(nxt)
    zh = model.transition(z, act)
    want = (F.binary_cross_entropy_with_logits(model.decode(z), obs, reduction="sum")
            + F.binary_cross_entropy_with_logits(model.decode(zh), nxt, reduction="sum")
            + ((zh - z2) ** 2).sum()) / 8
    assert loss.item() == pytest.approx(want.item(), rel=1e-5)
    assert stats["loss"] == pytest.approx(stats["reconstruction"] + stats["latent"], rel=1e-6)
    assert model.decode(z).shape == (8, 3, 15, 15)
    with pytest.raises(ValueError, match="no decoder"):
        WorldModel("gnn", 3, 2, (3, 15, 15)).decode(z)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = loss.item()
    for _ in range(100):
        loss, _ = reconstruction_loss(model, obs, act, nxt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.8 * first
