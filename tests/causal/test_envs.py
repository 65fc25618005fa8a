"""Chemistry and Physics environments against the card's checks (``docs/papers/causal.md`` §6): intervention
locality, action decoding, reset uniformity, rendering round trip, block pushing, batch = single environments,
gymnasium's env checker, bad settings, and no use of the global RNGs."""

from __future__ import annotations

import gymnasium as gym
import networkx as nx
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from scipy.stats import chisquare

from neurodyn.causal.envs import (
    DIRECTIONS,
    N_SHAPES,
    ChemistryBatch,
    ChemistryEnv,
    PhysicsEnv,
    palette,
    physics_push,
    register_envs,
    sprite_table,
)
from neurodyn.causal.graphs import FAMILIES, make_graph


def _allowed(adjacency: np.ndarray) -> np.ndarray:
    """(n, n) bool: ``allowed[i, j]`` when j is i or a descendant of i (networkx, edges parent -> child)."""
    n = adjacency.shape[0]
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from((int(p), int(ch)) for ch, p in zip(*np.nonzero(adjacency)))
    out = np.eye(n, dtype=bool)
    for i in range(n):
        out[i, list(nx.descendants(g, i))] = True
    return out


# ---------------------------------------------------------------------------------------------------------------
# Chemistry dynamics


@pytest.mark.parametrize("family, stochastic", [(f, False) for f in FAMILIES] + [("full", True), ("random", True)])
def test_intervention_locality(family, stochastic):
    """2000 random steps (200 environments x 10): only the intervened node and its descendants change, nodes before
    it never do, and an intervention on a sink changes at most that node."""
    n, c = 6, 4
    world = ChemistryBatch(n, c, family=family, p_edge=0.5, stochastic=stochastic, batch=200, seed=11)
    allowed = _allowed(world.adjacency)
    sinks = ~world.adjacency.astype(bool).any(axis=0)
    rng = np.random.default_rng(5)
    world.reset(seed=1)
    n_changed_desc = 0
    for _ in range(10):
        before = world.colors.copy()
        actions = rng.integers(0, n * c, size=world.batch)
        after = world.step(actions)
        obj, col = actions // c, actions % c
        assert np.array_equal(after[np.arange(world.batch), obj], col)
        changed = before != after
        assert not (changed & ~allowed[obj]).any()
        assert not (changed & (np.arange(n)[None, :] < obj[:, None])).any()
        on_sink = sinks[obj]
        assert on_sink.any() and (changed[on_sink].sum(axis=1) <= 1).all()
        n_changed_desc += int((changed & (np.arange(n)[None, :] > obj[:, None])).sum())
    assert n_changed_desc > 0  # the cascade does happen


def _reference_colour(world: ChemistryBatch, v: int, row: np.ndarray) -> int:
    """Object v's argmax colour from its MLP, evaluated one example at a time on its parents' one-hot colours."""
    x = np.zeros(world.n * world.c)
    for p in np.flatnonzero(world.adjacency[v]):
        x[p * world.c + row[p]] = 1.0
    h = np.maximum(x @ world.w1[v] + world.b1[v], 0.0)
    return int(np.argmax(h @ world.w2[v] + world.b2[v]))


def test_mechanisms():
    """Weights orthogonal with gain 3.5, biases in U(-2.1, 2.1); reset and steps follow the parents-only MLPs."""
    n, c = 4, 3
    world = ChemistryBatch(n, c, family="full", batch=60, seed=4)
    assert world.w1.shape == (n, n * c, 4 * n) and world.w2.shape == (n, 4 * n, c)
    for v in range(n):
        np.testing.assert_allclose(world.w1[v] @ world.w1[v].T, 3.5 ** 2 * np.eye(n * c), atol=1e-9)
        np.testing.assert_allclose(world.w2[v].T @ world.w2[v], 3.5 ** 2 * np.eye(c), atol=1e-9)
    assert np.abs(world.b1).max() <= 2.1 and np.abs(world.b2).max() <= 2.1 and world.b1.std() > 0.8
    colors = world.reset(seed=0)
    for row in colors:
        assert all(row[v] == _reference_colour(world, v, row) for v in range(1, n))
    rng = np.random.default_rng(0)
    for _ in range(5):
        actions = rng.integers(0, n * c, size=world.batch)
        out = world.step(actions)
        for row, a in zip(out, actions):
            assert all(row[v] == _reference_colour(world, v, row) for v in range(a // c + 1, n))
    # the last node really depends on its parents' colours
    configs = np.array(np.meshgrid(*[np.arange(c)] * n, indexing="ij")).reshape(n, -1).T
    assert len({_reference_colour(world, n - 1, row) for row in configs}) > 1


def test_stochastic_mechanisms_sample():
    """Stochastic mode draws from the softmax: same seeds repeat, resets differ from the argmax ones somewhere."""
    kw = dict(family="full", batch=500, seed=3)
    a = ChemistryBatch(5, 4, stochastic=True, **kw).reset(seed=2)
    b = ChemistryBatch(5, 4, stochastic=True, **kw).reset(seed=2)
    det = ChemistryBatch(5, 4, stochastic=False, **kw).reset(seed=2)
    assert np.array_equal(a, b)
    assert np.array_equal(a[:, 0], det[:, 0])  # object 0 is uniform in both modes, drawn first
    assert (a != det).any()


def test_action_round_trip():
    n, c = 4, 3
    world = ChemistryBatch(n, c, family="chain", batch=n * c, seed=0)
    a = np.arange(n * c)
    obj, col = world.decode_action(a)
    assert np.array_equal(obj, a // c) and np.array_equal(col, a % c)
    assert np.array_equal(world.encode_action(obj, col), a)
    after = world.step(a)
    assert np.array_equal(after[a, obj], col)
    for i in range(n):
        for k in range(5):
            assert PhysicsEnv.decode_action(PhysicsEnv.encode_action(i, k)) == (i, k)
            assert PhysicsEnv.encode_action(i, k) == i * 5 + k


def test_reset_object0_uniform():
    """Object 0's colour over 5000 resets: chi-square p > 0.01 (batch and one environment reset 5000 times)."""
    c = 5
    world = ChemistryBatch(4, c, batch=5000, seed=0)
    colors = world.reset(seed=123)
    assert chisquare(np.bincount(colors[:, 0], minlength=c)).pvalue > 0.01
    single = ChemistryBatch(4, c, batch=1, seed=0)
    first = np.array([single.reset()[0, 0] for _ in range(5000)])
    assert chisquare(np.bincount(first, minlength=c)).pvalue > 0.01


@pytest.mark.parametrize("positions", ["static", "dynamic"])
def test_batch_equals_single_environments(positions):
    """B environments stepped together = B single environments (same seed, same start) stepped one at a time."""
    n, c, b = 5, 4, 6
    batch = ChemistryBatch(n, c, family="random", positions=positions, batch=b, seed=7)
    batch.reset(seed=3)
    singles = [ChemistryBatch(n, c, family="random", positions=positions, batch=1, seed=7) for _ in range(b)]
    for k, s in enumerate(singles):
        assert np.array_equal(s.adjacency, batch.adjacency) and np.array_equal(s.w1, batch.w1)
        s.colors = batch.colors[k:k + 1].copy()
        s.positions = batch.positions[k:k + 1].copy()
    # the reset rule: the other objects are the same function of object 0 in both
    lookup = {}
    for seed in range(40):
        row = singles[0].reset(seed=seed)[0]
        lookup[int(row[0])] = row
    assert len(lookup) == c
    for row in batch.colors:
        assert np.array_equal(row, lookup[int(row[0])])
    for k, s in enumerate(singles):  # restore the starts
        s.colors = batch.colors[k:k + 1].copy()
        s.positions = batch.positions[k:k + 1].copy()
    rng = np.random.default_rng(9)
    for _ in range(15):
        actions = rng.integers(0, n * c, size=b)
        out = batch.step(actions)
        for k, s in enumerate(singles):
            assert np.array_equal(s.step(actions[k:k + 1])[0], out[k])
    images = batch.render()
    ids = batch.state_ids(batch.colors)
    for k, s in enumerate(singles):
        assert np.array_equal(s.render()[0], images[k])
        assert s.state_ids(s.colors)[0] == ids[k]


# ---------------------------------------------------------------------------------------------------------------
# rendering and state ids


def test_image_shapes_and_sprites():
    assert ChemistryBatch(3, 5).image_shape == (3, 15, 15)  # card §3 SMALL
    assert ChemistryBatch(5, 5).image_shape == (3, 20, 20)
    for cell in range(1, 11):
        table = sprite_table(cell, palette(3))
        assert table.shape == (N_SHAPES, 3, cell, cell, 3) and table.dtype == np.float32
        assert (table[:, :, cell // 2, cell // 2] > 0).any(axis=-1).all()  # every shape covers the centre pixel
    for cell in (5, 10):
        masks = sprite_table(cell, np.ones((1, 3)))[:, 0, :, :, 0]
        assert len({m.tobytes() for m in masks}) == N_SHAPES
    for c in range(2, 9):
        p = palette(c)
        assert len({tuple(x) for x in p.tolist()}) == c and (p > 0).any(axis=1).all()


@pytest.mark.parametrize("positions", ["static", "dynamic"])
@pytest.mark.parametrize("n, c, cell", [(3, 5, 5), (5, 2, 5), (8, 8, 4), (4, 3, 1)])
def test_render_round_trip(positions, n, c, cell):
    world = ChemistryBatch(n, c, positions=positions, batch=300, cell=cell, seed=2)
    colors = np.random.default_rng(0).integers(0, c, size=(300, n))
    images = world.render(colors)
    assert images.shape == (300, *world.image_shape) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1
    assert np.array_equal(world.decode(images), colors)
    # background is 0 outside the objects' cells
    g, s = world.grid, cell
    occupied = np.zeros((300, g, g), dtype=bool)
    occupied[np.arange(300)[:, None], world.positions[..., 0], world.positions[..., 1]] = True
    cells = images.reshape(300, 3, g, s, g, s)
    assert (cells.transpose(0, 2, 4, 1, 3, 5)[~occupied] == 0).all()
    if positions == "static":
        assert len({tuple(p) for p in world.positions[0].tolist()}) == n
    else:
        assert all(len({tuple(p) for p in row.tolist()}) == n for row in world.positions)
        assert len({row.tobytes() for row in world.positions}) > 1


def test_render_many_states_with_one_position_set():
    """Static worlds render any number of states; explicit positions are honoured."""
    world = ChemistryBatch(4, 3, batch=2, positions="dynamic", seed=0)
    colors = np.zeros((7, 4), dtype=np.int64)
    pos = np.repeat(world.positions[:1], 7, axis=0)
    assert np.array_equal(world.decode(world.render(colors, pos), pos), colors)
    static = ChemistryBatch(4, 3, batch=2)
    assert static.render(colors).shape == (7, *static.image_shape)


@pytest.mark.parametrize("positions", ["static", "dynamic"])
def test_state_ids_unique(positions):
    n, c = 3, 3
    world = ChemistryBatch(n, c, positions=positions, batch=27, seed=0)
    colors = np.array(np.meshgrid(*[np.arange(c)] * n, indexing="ij")).reshape(n, -1).T
    ids = world.state_ids(colors)
    assert ids.dtype == np.int64 and len(np.unique(ids)) == 27
    if positions == "dynamic":
        same = np.zeros_like(colors)
        ids_pos = world.state_ids(same)
        keys = {w.tobytes() for w in world.positions}
        assert len(np.unique(ids_pos)) == len(keys)
        with pytest.raises(ValueError, match="too large"):
            ChemistryBatch(10, 8, positions="dynamic").state_ids(np.zeros((1, 10), dtype=np.int64))


# ---------------------------------------------------------------------------------------------------------------
# Physics


def test_physics_pushing_rules():
    w = np.array([3, 2, 1])
    g = 5
    pos = np.array([[1, 1], [1, 2], [4, 4]])
    pushed = physics_push(pos, w, 0, 2, g)  # heavier 0 pushes lighter 1 to the right
    assert np.array_equal(pushed, [[1, 2], [1, 3], [4, 4]])
    assert np.array_equal(pos, [[1, 1], [1, 2], [4, 4]])  # input untouched
    assert np.array_equal(physics_push(pos, w, 1, 4, g), pos)  # lighter 1 into heavier 0: blocked
    assert np.array_equal(physics_push(pos, w, 0, 0, g), pos)  # stay
    assert np.array_equal(physics_push(pos, w, 0, 1, g), [[0, 1], [1, 2], [4, 4]])  # free move up
    assert np.array_equal(physics_push(pos, w, 2, 2, g), pos)  # into the wall
    wall = np.array([[1, 3], [1, 4], [3, 3]])
    assert np.array_equal(physics_push(wall, w, 0, 2, g), wall)  # pushed object against the wall
    chain = np.array([[2, 0], [2, 1], [2, 2]])
    assert np.array_equal(physics_push(chain, w, 0, 2, g), chain)  # chain of two: nothing moves
    for d, (dr, dc) in enumerate(DIRECTIONS[1:], start=1):  # exactly one cell, every direction
        p = np.array([[2, 2], [2 + dr, 2 + dc], [0, 0]])
        out = physics_push(p, w, 0, d, g)
        assert np.array_equal(out[:2], p[:2] + [[dr, dc]]) and np.array_equal(out[2], p[2])


def test_physics_env_random_walk():
    """2000 random steps: the env follows physics_push, positions stay distinct and inside the grid."""
    env = PhysicsEnv(n=6, grid=3, max_steps=50)  # crowded: many pushes, chains and walls
    assert np.array_equal(env.adjacency, make_graph("full", 6))
    env.reset(seed=0)
    rng = np.random.default_rng(1)
    for t, a in enumerate(rng.integers(0, env.action_space.n, size=2000)):
        before = env.positions
        obs, reward, terminated, truncated, info = env.step(int(a))
        i, d = env.decode_action(int(a))
        assert np.array_equal(env.positions, physics_push(before, env.weights, i, d, env.grid))
        pos = env.positions
        assert len({tuple(p) for p in pos.tolist()}) == 6 and pos.min() >= 0 and pos.max() < 3
        assert reward == -np.abs(pos - info["goal_positions"]).sum(axis=1).mean() and not terminated
        if truncated:
            env.reset(seed=t)


def test_physics_render_and_colours():
    env = PhysicsEnv(n=4)
    obs, info = env.reset(seed=3)
    assert obs.shape == env.observation_space.shape and obs.dtype == np.float32
    assert np.array_equal(env._renderer.decode(obs[None], env.positions[None])[0], np.arange(4))
    brightness = env.palette.sum(axis=1)
    assert (np.diff(brightness) > 0).all()  # lighter objects are lighter blue: darker = heavier
    assert (env.palette[:, 2] >= env.palette[:, 0]).all()


# ---------------------------------------------------------------------------------------------------------------
# gymnasium


@pytest.mark.parametrize("env_id", ["neurodyn/Chemistry-v0", "neurodyn/Physics-v0"])
def test_gymnasium_env_checker(env_id):
    register_envs()  # idempotent
    assert env_id in gym.registry
    check_env(gym.make(env_id).unwrapped)


def test_chemistry_env_goal_and_reward():
    n, c, seed = 4, 3, 5
    env = gym.make("neurodyn/Chemistry-v0", n=n, c=c, family="full", graph_seed=2, max_steps=4).unwrapped
    assert isinstance(env, ChemistryEnv) and env.action_space.n == n * c and env.adjacency.shape == (n, n)
    obs, info = env.reset(seed=seed)
    # replay: gymnasium's np_random for a seed is default_rng(seed); reset draws object 0, then 10 actions
    world = ChemistryBatch(n, c, family="full", seed=2)
    rng = np.random.default_rng(seed)
    assert env.colors[0] == rng.integers(0, c, size=1)[0]
    goal = env.colors[None]
    for _ in range(10):
        goal = world.transition(goal, rng.integers(0, n * c, size=1))
    assert np.array_equal(info["goal_colors"], goal[0])
    assert np.array_equal(world.decode(info["goal_image"][None]), goal)
    assert np.array_equal(world.decode(obs[None]), env.colors[None])
    for t in range(4):
        obs, reward, terminated, truncated, info = env.step(int(t))
        assert reward == np.mean(env.colors == env.goal) and not terminated and truncated == (t == 3)
        assert info["success"] == (reward == 1.0)
    easy = ChemistryEnv(n=3, c=3, goal_steps=0)
    _, info = easy.reset(seed=0)
    assert info["success"] and np.array_equal(info["goal_colors"], easy.colors)


# ---------------------------------------------------------------------------------------------------------------
# guards and RNG hygiene


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=1, c=3), "n"),
    (dict(n=3, c=1), "c"),
    (dict(n=3, c=9), "palette"),
    (dict(n=3, c=3, p_edge=1.5), "p_edge"),
    (dict(n=3, c=3, p_edge=float("inf")), "p_edge"),
    (dict(n=3, c=3, family="tree"), "family"),
    (dict(n=3, c=3, positions="Static"), "positions"),
    (dict(n=5, c=3, grid=2), "more objects than cells"),
    (dict(n=3, c=3, batch=0), "batch"),
    (dict(n=3, c=3, cell=0), "cell"),
])
def test_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ChemistryBatch(**kwargs)
    if "batch" not in kwargs:
        with pytest.raises(ValueError, match=match):
            ChemistryEnv(**kwargs)


def test_bad_physics_settings_and_inputs():
    with pytest.raises(ValueError, match="n"):
        PhysicsEnv(n=1)
    with pytest.raises(ValueError, match="more objects than cells"):
        PhysicsEnv(n=5, grid=2)
    world = ChemistryBatch(3, 3, batch=2)
    with pytest.raises(ValueError, match="actions"):
        world.step(np.array([0, 9]))
    with pytest.raises(ValueError, match="shape"):
        world.step(np.array([0]))
    with pytest.raises(ValueError, match="colors"):
        world.render(np.full((2, 3), 3))
    with pytest.raises(ValueError, match="action"):
        ChemistryEnv(n=3, c=3).step(9)


def test_no_global_rng(rng_state):
    np_state, torch_state = rng_state
    world = ChemistryBatch(4, 3, family="random", positions="dynamic", stochastic=True, batch=8)
    world.reset()
    world.step(np.zeros(8, dtype=np.int64))
    world.render()
    for env in (ChemistryEnv(stochastic=True, positions="dynamic"), PhysicsEnv()):
        env.reset()
        env.step(0)
    assert np.array_equal(np.random.get_state()[1], np_state)
    assert torch.equal(torch.get_rng_state(), torch_state)
