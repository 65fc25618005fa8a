"""Chemistry and Physics grid worlds of the causal-induction paper (``docs/papers/causal.md``, card §2.1, §2.2, §3).

* :class:`ChemistryBatch`: B Chemistry environments with one shared causal graph and mechanisms, stepped together
  with array operations (colours as an int array, mechanisms as batched matmuls over masked one-hot inputs).
* :class:`ChemistryEnv`: a single Chemistry world as a ``gymnasium.Env`` with the reference's goal and reward.
* :class:`PhysicsEnv`: weighted block pushing as a ``gymnasium.Env`` (heavier blocks push lighter ones).
* :func:`physics_push`: the pure pushing rule of the Physics world.
* :func:`register_envs`: registers ``neurodyn/Chemistry-v0`` and ``neurodyn/Physics-v0`` (done at import).

Rendering: a grid of ``g x g`` cells of ``cell`` pixels, ``g = ceil(sqrt(n)) + 1`` by default (3x15x15 for n = 3 and
cell 5), float32 images (3, H, W) in [0, 1] on a black background. Object i always has shape ``i % 8`` (circle,
triangle, square, diamond, pentagon, cross, parallelogram, right triangle; every shape covers its cell's centre
pixel) and its colour is a palette entry. Images are produced by one gather from a precomputed sprite table
``(n_shapes, n_colors, cell, cell, 3)``.

Randomness: mechanism weights and the random graph come from a numpy Generator seeded by ``seed``; the episode
randomness of :class:`ChemistryBatch` from its own Generator ``rng`` (reseeded by ``reset(seed=...)``), that of the
gymnasium environments from ``self.np_random``. The global numpy and torch RNGs are never used.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from neurodyn.causal.graphs import FAMILIES, make_graph

__all__ = ["PALETTE", "N_SHAPES", "POSITION_MODES", "DIRECTIONS", "ChemistryBatch", "ChemistryEnv", "PhysicsEnv",
           "physics_push", "palette", "sprite_table", "register_envs"]

#: Fixed qualitative colour list (RGB in [0, 1]); a world with C colours takes C entries evenly spaced from it.
PALETTE = np.array([
    [0.90, 0.12, 0.14],  # red
    [0.20, 0.47, 0.74],  # blue
    [0.32, 0.70, 0.30],  # green
    [0.58, 0.30, 0.66],  # purple
    [1.00, 0.52, 0.02],  # orange
    [0.98, 0.96, 0.25],  # yellow
    [0.64, 0.35, 0.15],  # brown
    [0.96, 0.52, 0.76],  # pink
], dtype=np.float32)
N_SHAPES = 8
POSITION_MODES = ("static", "dynamic")
#: Physics directions as (row, column) offsets: stay, up, right, down, left.
DIRECTIONS = np.array([[0, 0], [-1, 0], [0, 1], [1, 0], [0, -1]], dtype=np.int64)
_BLUE_LIGHT = np.array([0.78, 0.86, 0.95], dtype=np.float32)
_BLUE_DARK = np.array([0.03, 0.19, 0.45], dtype=np.float32)


# ---------------------------------------------------------------------------------------------------------------
# validation


def _check_int(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def grid_size(n_objects: int) -> int:
    """Cells per image side for N objects by default: g = ceil(sqrt(N)) + 1 (N = 3 -> 3, N = 5..9 -> 4).

    Examples
    --------
    >>> [grid_size(n) for n in (3, 4, 5, 7)]
    [3, 3, 4, 4]
    """
    return math.isqrt(n_objects - 1) + 2  # = ceil(sqrt(N)) + 1 in integer arithmetic


def _grid_size(n: int, grid: int | None) -> int:
    g = grid_size(n) if grid is None else _check_int("grid", grid, 1)
    if n > g * g:
        raise ValueError(f"more objects than cells: n = {n} objects do not fit on a {g}x{g} grid ({g * g} cells)")
    return g


# ---------------------------------------------------------------------------------------------------------------
# rendering


def palette(c: int) -> np.ndarray:
    """``c`` distinct colours taken at evenly spaced points of :data:`PALETTE`.

    Parameters
    ----------
    c : int
        Number of colours, in [1, 8].

    Returns
    -------
    numpy.ndarray
        (c, 3) float32 RGB in [0, 1].
    """
    c = _check_int("c (number of colours)", c, 1)
    if c > len(PALETTE):
        raise ValueError(f"c (number of colours) must be at most {len(PALETTE)} (the palette size), got {c}")
    idx = np.floor(np.linspace(0, len(PALETTE) - 1, c) + 0.5).astype(np.int64)
    return PALETTE[idx].copy()


def _shape_masks(cell: int) -> np.ndarray:
    """(N_SHAPES, cell, cell) bool masks; every one includes the centre pixel ``(cell // 2, cell // 2)``."""
    t = (np.arange(cell) + 0.5) / cell * 2.0 - 1.0  # pixel centres in (-1, 1)
    y, x = np.meshgrid(t, t, indexing="ij")  # y: row (down), x: column (right)
    ang = -np.pi / 2 + 2 * np.pi * np.arange(5) / 5  # pentagon: one vertex up
    pent = np.all(x[None] * np.cos(ang)[:, None, None] + y[None] * np.sin(ang)[:, None, None]
                  <= 0.9 * np.cos(np.pi / 5), axis=0)
    masks = np.stack([
        x ** 2 + y ** 2 <= 0.95 ** 2,  # circle
        (y <= 0.85) & (np.abs(x) <= 0.55 * (y + 0.9)),  # triangle, apex up
        np.maximum(np.abs(x), np.abs(y)) <= 0.7,  # square
        np.abs(x) + np.abs(y) <= 0.9,  # diamond
        pent,  # pentagon
        (np.minimum(np.abs(x), np.abs(y)) <= 0.3) & (np.maximum(np.abs(x), np.abs(y)) <= 0.9),  # cross
        (np.abs(y) <= 0.55) & (np.abs(x + 0.6 * y) <= 0.5),  # parallelogram
        (x >= -0.8) & (y <= 0.8) & (y - x >= -0.6),  # right (scalene) triangle
    ])
    masks[:, cell // 2, cell // 2] = True
    return masks


def sprite_table(cell: int, colors: np.ndarray) -> np.ndarray:
    """All (shape, colour) sprites of one cell.

    Parameters
    ----------
    cell : int
        Cell size in pixels, >= 1.
    colors : numpy.ndarray
        (C, 3) RGB colours in [0, 1].

    Returns
    -------
    numpy.ndarray
        (N_SHAPES, C, cell, cell, 3) float32: the colour inside the shape, 0 outside.
    """
    cell = _check_int("cell", cell, 1)
    masks = _shape_masks(cell).astype(np.float32)
    cols = np.asarray(colors, dtype=np.float32)
    return masks[:, None, :, :, None] * cols[None, :, None, None, :]


class _Renderer:
    """Images of n objects with colour indices into a palette, at (row, col) cells of a g x g grid."""

    def __init__(self, n: int, grid: int, cell: int, colors: np.ndarray) -> None:
        self.n, self.grid, self.cell = n, grid, cell
        self.colors = np.asarray(colors, dtype=np.float32)
        table = sprite_table(cell, self.colors)
        # one extra all-zero "shape" for empty cells
        self.table = np.concatenate([table, np.zeros_like(table[:1])], axis=0)
        self.shape_of = np.append(np.arange(n) % N_SHAPES, N_SHAPES)  # (n + 1,), entry n = empty cell
        self.image_shape = (3, grid * cell, grid * cell)

    def render(self, colors: np.ndarray, positions: np.ndarray) -> np.ndarray:
        b, n, g, s = colors.shape[0], self.n, self.grid, self.cell
        obj_at = np.full((b, g, g), n, dtype=np.int64)
        obj_at[np.arange(b)[:, None], positions[..., 0], positions[..., 1]] = np.arange(n)
        col_ext = np.concatenate([colors, np.zeros((b, 1), dtype=colors.dtype)], axis=1)
        col_at = np.take_along_axis(col_ext, obj_at.reshape(b, g * g), axis=1).reshape(b, g, g)
        tiles = self.table[self.shape_of[obj_at], col_at]  # (B, g, g, cell, cell, 3)
        return np.ascontiguousarray(tiles.transpose(0, 5, 1, 3, 2, 4)).reshape(b, 3, g * s, g * s)

    def decode(self, images: np.ndarray, positions: np.ndarray) -> np.ndarray:
        b, s = images.shape[0], self.cell
        rows = positions[..., 0] * s + s // 2
        cols = positions[..., 1] * s + s // 2
        pix = images[np.arange(b)[:, None], :, rows, cols]  # (B, n, 3)
        dist = ((pix[:, :, None, :] - self.colors[None, None]) ** 2).sum(-1)
        return dist.argmin(-1).astype(np.int64)


def _static_cells(n: int, grid: int) -> np.ndarray:
    """(n, 2) distinct cells: the four corners, the centre, then the remaining cells in row-major order."""
    g = grid
    order = [(0, 0), (0, g - 1), (g - 1, 0), (g - 1, g - 1), (g // 2, g // 2)]
    order += [(r, c) for r in range(g) for c in range(g)]
    cells = list(dict.fromkeys(order))
    return np.array(cells[:n], dtype=np.int64).reshape(n, 2)


def _orthogonal(rng: np.random.Generator, fan_in: int, fan_out: int, gain: float) -> np.ndarray:
    """(fan_in, fan_out) matrix with orthonormal rows or columns, times ``gain`` (for ``x @ W``)."""
    big, small = max(fan_in, fan_out), min(fan_in, fan_out)
    q, r = np.linalg.qr(rng.standard_normal((big, small)))
    d = np.sign(np.diag(r))
    q = q * np.where(d == 0, 1.0, d)
    return gain * (q if fan_in >= fan_out else q.T)


# ---------------------------------------------------------------------------------------------------------------
# Chemistry


class ChemistryBatch:
    """B Chemistry environments sharing one causal graph and one set of mechanisms (card §2.1, §3).

    Object v's colour is a function of its parents' colours: an MLP ``[n c -> 4 n -> c]`` with ReLU (weights
    orthogonal with gain 3.5, biases U(-2.1, 2.1)) on the one-hot colours of all objects masked to v's parents; the
    new colour is the argmax of its logits, or a sample from their softmax when ``stochastic``. An action
    ``a = i c + k`` sets object i to colour k, then every later object with a parent among the changed ones is
    resampled, in index order.

    Parameters
    ----------
    n : int
        Number of objects, >= 2.
    c : int
        Number of colours, in [2, 8].
    family : {"chain", "collider", "full", "random"}, default "chain"
        Causal graph family (:func:`neurodyn.causal.graphs.make_graph`).
    p_edge : float, default 0.5
        Edge probability of the ``random`` family, in [0, 1].
    positions : {"static", "dynamic"}, default "static"
        ``static``: object i at a fixed cell (corners, centre, then row-major); ``dynamic``: distinct uniformly random
        cells drawn per environment at every reset.
    stochastic : bool, default False
        Sample colours from the mechanisms' softmax (the reference) instead of taking the argmax.
    batch : int, default 1
        Number of environments B.
    cell : int, default 5
        Cell size in pixels.
    seed : int, default 0
        Seeds the graph and mechanisms (one stream) and the episode Generator ``rng`` (another stream).
    grid : int or None, default None
        Grid side g; None means ``ceil(sqrt(n)) + 1``.

    Attributes
    ----------
    n, c, batch, grid, cell : int
    adjacency : numpy.ndarray
        (n, n) int8, ``A[child, parent] = 1``, strictly lower-triangular.
    colors : numpy.ndarray
        (B, n) int64 current colours.
    positions : numpy.ndarray
        (B, n, 2) int64 (row, col) cells.
    image_shape : tuple of int
        (3, H, W) with ``H = W = g * cell``.
    palette : numpy.ndarray
        (c, 3) float32 RGB of the colours.
    rng : numpy.random.Generator
        The episode randomness (resets, dynamic positions, stochastic mechanisms).
    w1, b1, w2, b2 : numpy.ndarray
        Mechanism parameters (n, n c, 4 n), (n, 4 n), (n, 4 n, c), (n, c), float64, for ``x @ w + b``.

    Raises
    ------
    ValueError
        ``n < 2``, ``c < 2`` or ``c > 8``, ``p_edge`` outside [0, 1], an unknown family or positions mode, more
        objects than cells, a bad ``batch`` / ``cell`` / ``seed``.
    """

    def __init__(self, n: int, c: int, *, family: str = "chain", p_edge: float = 0.5, positions: str = "static",
                 stochastic: bool = False, batch: int = 1, cell: int = 5, seed: int = 0,
                 grid: int | None = None) -> None:
        self.n = _check_int("n (number of objects)", n, 2)
        self.c = _check_int("c (number of colours)", c, 2)
        self.palette = palette(self.c)
        if family not in FAMILIES:
            raise ValueError(f"unknown graph family {family!r}, expected one of {FAMILIES}")
        if isinstance(p_edge, bool) or not isinstance(p_edge, Real) or not math.isfinite(p_edge) \
                or not 0 <= p_edge <= 1:
            raise ValueError(f"p_edge must be a finite probability in [0, 1], got {p_edge!r}")
        if positions not in POSITION_MODES:
            raise ValueError(f"unknown positions mode {positions!r}, expected one of {POSITION_MODES}")
        self.batch = _check_int("batch", batch, 1)
        self.cell = _check_int("cell", cell, 1)
        seed = _check_int("seed", seed, 0)
        self.grid = _grid_size(self.n, grid)
        self.family, self.p_edge, self.position_mode = family, float(p_edge), positions
        self.stochastic = bool(stochastic)
        graph_seq, env_seq = np.random.SeedSequence(seed).spawn(2)
        wrng = np.random.default_rng(graph_seq)
        self.adjacency = make_graph(family, self.n, p_edge=p_edge, rng=wrng)
        n_in, hidden = self.n * self.c, 4 * self.n
        self.w1 = np.stack([_orthogonal(wrng, n_in, hidden, 3.5) for _ in range(self.n)])
        self.b1 = wrng.uniform(-2.1, 2.1, (self.n, hidden))
        self.w2 = np.stack([_orthogonal(wrng, hidden, self.c, 3.5) for _ in range(self.n)])
        self.b2 = wrng.uniform(-2.1, 2.1, (self.n, self.c))
        self._mask = np.repeat(self.adjacency, self.c, axis=1).astype(np.float64)  # (n, n c)
        self._parents = self.adjacency.astype(bool)
        self._renderer = _Renderer(self.n, self.grid, self.cell, self.palette)
        self.image_shape = self._renderer.image_shape
        n_states = self.c ** self.n * ((self.grid * self.grid) ** self.n if positions == "dynamic" else 1)
        self._ids_fit = n_states <= np.iinfo(np.int64).max
        self.rng = np.random.default_rng(env_seq)
        self.positions = np.broadcast_to(_static_cells(self.n, self.grid), (self.batch, self.n, 2)).copy()
        self.colors = np.zeros((self.batch, self.n), dtype=np.int64)
        self.reset()

    # -- mechanisms ---------------------------------------------------------------------------------------------

    def _logits(self, v: int, colors: np.ndarray) -> np.ndarray:
        """(B, c) logits of object v's mechanism given all colours (B, n); only v's parents are visible."""
        b = colors.shape[0]
        x = np.zeros((b, self.n * self.c))
        x[np.arange(b)[:, None], np.arange(self.n) * self.c + colors] = 1.0
        x *= self._mask[v]
        h = np.maximum(x @ self.w1[v] + self.b1[v], 0.0)
        return h @ self.w2[v] + self.b2[v]

    def _draw(self, logits: np.ndarray) -> np.ndarray:
        if not self.stochastic:
            return logits.argmax(axis=1)
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        cdf = np.cumsum(z / z.sum(axis=1, keepdims=True), axis=1)
        u = self.rng.random((logits.shape[0], 1))
        return np.minimum((cdf < u).sum(axis=1), self.c - 1)

    def _check_colors(self, colors: np.ndarray) -> np.ndarray:
        colors = np.asarray(colors)
        if colors.ndim != 2 or colors.shape[1] != self.n or not np.issubdtype(colors.dtype, np.integer):
            raise ValueError(f"colors must be an integer array of shape (B, n = {self.n}), got {colors.dtype} "
                             f"{colors.shape}")
        if colors.size and (colors.min() < 0 or colors.max() >= self.c):
            raise ValueError(f"colors must lie in [0, {self.c}), found values in [{colors.min()}, {colors.max()}]")
        return colors.astype(np.int64, copy=False)

    def transition(self, colors: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """The colours after one intervention per environment, without changing the environment's state.

        Parameters
        ----------
        colors : numpy.ndarray
            (B', n) int colours in [0, c) (any number of rows B').
        actions : numpy.ndarray
            (B',) int actions in [0, n c): object ``a // c`` is set to colour ``a % c``.

        Returns
        -------
        numpy.ndarray
            (B', n) int64. Stochastic mechanisms draw from ``self.rng``.
        """
        colors = self._check_colors(colors)
        obj, col = self.decode_action(actions)
        if obj.shape != (colors.shape[0],):
            raise ValueError(f"actions must have shape (B,) = ({colors.shape[0]},), got {obj.shape}")
        rows = np.arange(colors.shape[0])
        new = colors.copy()
        new[rows, obj] = col
        changed = np.zeros(new.shape, dtype=bool)
        changed[rows, obj] = True
        for v in range(1, self.n):
            hit = (changed & self._parents[v]).any(axis=1)
            if hit.any():
                new[:, v] = np.where(hit, self._draw(self._logits(v, new)), new[:, v])
                changed[:, v] |= hit
        return new

    # -- public API ---------------------------------------------------------------------------------------------

    def encode_action(self, objects: np.ndarray, colors: np.ndarray) -> np.ndarray:
        """Actions ``a = i c + k`` for objects i and colours k (arrays of one shape); int64."""
        return np.asarray(objects, dtype=np.int64) * self.c + np.asarray(colors, dtype=np.int64)

    def decode_action(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Objects ``a // c`` and colours ``a % c`` of actions in [0, n c); int64 arrays of the actions' shape."""
        a = np.asarray(actions)
        if not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"actions must be integers, got dtype {a.dtype}")
        if a.size and (a.min() < 0 or a.max() >= self.n * self.c):
            raise ValueError(f"actions must lie in [0, n c = {self.n * self.c}), found values in "
                             f"[{a.min()}, {a.max()}]")
        a = a.astype(np.int64)
        return a // self.c, a % self.c

    def reset(self, *, seed: int | None = None) -> np.ndarray:
        """New episodes: object 0 uniform over the colours, objects 1..n-1 from their mechanisms in index order.

        Parameters
        ----------
        seed : int or None
            Reseeds ``self.rng`` (``numpy.random.default_rng(seed)``) first; None continues its stream.

        Returns
        -------
        numpy.ndarray
            (B, n) int64 colours (a copy). Dynamic positions are redrawn (distinct cells per environment).
        """
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        b = self.batch
        if self.position_mode == "dynamic":
            cells = self.rng.random((b, self.grid * self.grid)).argsort(axis=1)[:, : self.n]
            self.positions = np.stack([cells // self.grid, cells % self.grid], axis=-1).astype(np.int64)
        colors = np.zeros((b, self.n), dtype=np.int64)
        colors[:, 0] = self.rng.integers(0, self.c, size=b)
        for v in range(1, self.n):
            colors[:, v] = self._draw(self._logits(v, colors))
        self.colors = colors
        return colors.copy()

    def step(self, actions: np.ndarray) -> np.ndarray:
        """One intervention per environment (:meth:`transition` applied to the state).

        Parameters
        ----------
        actions : numpy.ndarray
            (B,) int actions in [0, n c).

        Returns
        -------
        numpy.ndarray
            (B, n) int64 new colours (a copy).
        """
        actions = np.asarray(actions)
        if actions.shape != (self.batch,):
            raise ValueError(f"actions must have shape (B,) = ({self.batch},), got {actions.shape}")
        self.colors = self.transition(self.colors, actions)
        return self.colors.copy()

    def render(self, colors: np.ndarray | None = None, positions: np.ndarray | None = None) -> np.ndarray:
        """Images of states.

        Parameters
        ----------
        colors : numpy.ndarray or None
            (B', n) int colours; None means the current ``colors``.
        positions : numpy.ndarray or None
            (B', n, 2) int cells (distinct within a row); None means the current ``positions`` (B' = B, or B' any
            number with static positions).

        Returns
        -------
        numpy.ndarray
            (B', 3, H, W) float32 in [0, 1].
        """
        colors = self.colors if colors is None else self._check_colors(colors)
        return self._renderer.render(colors, self._positions_for(colors.shape[0], positions))

    def _positions_for(self, b: int, positions: np.ndarray | None) -> np.ndarray:
        if positions is None:
            if self.position_mode == "static":
                return np.broadcast_to(self.positions[:1], (b, self.n, 2))
            positions = self.positions
        positions = np.asarray(positions)
        if positions.shape != (b, self.n, 2) or not np.issubdtype(positions.dtype, np.integer):
            raise ValueError(f"positions must be an integer array of shape (B, n, 2) = ({b}, {self.n}, 2), got "
                             f"{positions.dtype} {positions.shape}")
        if positions.size and (positions.min() < 0 or positions.max() >= self.grid):
            raise ValueError(f"positions must lie in [0, {self.grid}), found values in "
                             f"[{positions.min()}, {positions.max()}]")
        return positions.astype(np.int64, copy=False)

    def decode(self, images: np.ndarray, positions: np.ndarray | None = None) -> np.ndarray:
        """Colours read back from images: each object's centre pixel -> nearest palette colour.

        Parameters
        ----------
        images : numpy.ndarray
            (B', 3, H, W) as made by :meth:`render`.
        positions : numpy.ndarray or None
            (B', n, 2) cells of the objects; None as in :meth:`render`.

        Returns
        -------
        numpy.ndarray
            (B', n) int64.
        """
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[1:] != self.image_shape:
            raise ValueError(f"images must have shape (B, *{self.image_shape}), got {images.shape}")
        return self._renderer.decode(images, self._positions_for(images.shape[0], positions))

    def state_ids(self, colors: np.ndarray, positions: np.ndarray | None = None) -> np.ndarray:
        """A unique int64 id per state: mixed radix of the colours (base c), and for dynamic positions of the
        objects' cells (base g², above the colours).

        Parameters
        ----------
        colors : numpy.ndarray
            (B', n) int colours.
        positions : numpy.ndarray or None
            (B', n, 2); None as in :meth:`render`. Ignored for static positions.

        Returns
        -------
        numpy.ndarray
            (B',) int64.

        Raises
        ------
        ValueError
            Bad inputs, or a state space larger than int64 can number.
        """
        colors = self._check_colors(colors)
        if not self._ids_fit:
            raise ValueError(f"the state space of n = {self.n}, c = {self.c}, {self.grid}x{self.grid} "
                             f"{self.position_mode} positions is too large for int64 ids")
        ids = (colors * self.c ** np.arange(self.n, dtype=np.int64)).sum(axis=1)
        if self.position_mode == "dynamic":
            pos = self._positions_for(colors.shape[0], positions)
            cells = pos[..., 0] * self.grid + pos[..., 1]
            radix = (self.grid * self.grid) ** np.arange(self.n, dtype=np.int64)
            ids = ids + self.c ** self.n * (cells * radix).sum(axis=1)
        return ids


class ChemistryEnv(gym.Env):
    """One Chemistry world as a gymnasium environment with a goal (card §2.1, RL variant).

    At reset a goal is made by ``goal_steps`` uniformly random interventions from the reset state; the reward after a
    step is the fraction of objects whose colour equals the goal colour (1 = success). ``terminated`` is always
    False; ``truncated`` becomes True after ``max_steps`` steps.

    Parameters
    ----------
    n, c, family, p_edge, positions, stochastic, cell, grid
        As :class:`ChemistryBatch`.
    graph_seed : int, default 0
        Seed of the graph and mechanisms (the episode randomness comes from ``reset(seed=...)``).
    max_steps : int, default 10
    goal_steps : int, default 10
    render_mode : {"rgb_array", None}
        ``render()`` returns the current image as (H, W, 3) uint8.

    Observations are (3, H, W) float32 images in [0, 1]; actions Discrete(n c), ``a = i c + k``. ``info`` holds
    ``goal_colors`` (n,), ``goal_image`` (3, H, W) and ``success``.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(self, n: int = 5, c: int = 5, family: str = "chain", p_edge: float = 0.5,
                 positions: str = "static", stochastic: bool = False, cell: int = 5, graph_seed: int = 0,
                 max_steps: int = 10, goal_steps: int = 10, grid: int | None = None,
                 render_mode: str | None = None) -> None:
        self.world = ChemistryBatch(n, c, family=family, p_edge=p_edge, positions=positions, stochastic=stochastic,
                                    batch=1, cell=cell, seed=graph_seed, grid=grid)
        self.max_steps = _check_int("max_steps", max_steps, 1)
        self.goal_steps = _check_int("goal_steps", goal_steps, 0)
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.render_mode = render_mode
        self.observation_space = spaces.Box(0.0, 1.0, self.world.image_shape, np.float32)
        self.action_space = spaces.Discrete(self.world.n * self.world.c)
        self._goal = self.world.colors[0].copy()
        self._t = 0

    @property
    def adjacency(self) -> np.ndarray:
        """(n, n) int8 causal graph, ``A[child, parent] = 1``."""
        return self.world.adjacency

    @property
    def colors(self) -> np.ndarray:
        """(n,) int64 current colours (a copy)."""
        return self.world.colors[0].copy()

    @property
    def goal(self) -> np.ndarray:
        """(n,) int64 goal colours (a copy)."""
        return self._goal.copy()

    def _info(self, reward: float) -> dict[str, Any]:
        goal_image = self.world.render(self._goal[None], self.world.positions)[0]
        return {"goal_colors": self._goal.copy(), "goal_image": goal_image, "success": reward == 1.0}

    def _reward(self) -> float:
        return float(np.mean(self.world.colors[0] == self._goal))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.world.rng = self.np_random
        self.world.reset()
        goal = self.world.colors.copy()
        for _ in range(self.goal_steps):
            goal = self.world.transition(goal, self.np_random.integers(0, self.action_space.n, size=1))
        self._goal = goal[0]
        self._t = 0
        return self.world.render()[0], self._info(self._reward())

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(f"action must be an integer in [0, {self.action_space.n}), got {action!r}")
        self.world.step(np.array([int(action)], dtype=np.int64))
        self._t += 1
        reward = self._reward()
        return self.world.render()[0], reward, False, self._t >= self.max_steps, self._info(reward)

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            return None
        img = self.world.render()[0].transpose(1, 2, 0)
        return np.round(img * 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------------------------
# Physics


def physics_push(positions: np.ndarray, weights: np.ndarray, obj: int, direction: int, grid: int) -> np.ndarray:
    """The weighted block-pushing rule (card §2.2) on one state.

    Object ``obj`` tries to move one cell in ``direction`` (index into :data:`DIRECTIONS`: stay, up, right, down,
    left). Into a wall: nothing moves. Into a free cell: it moves. Into object j: if ``w_obj > w_j`` and j's next
    cell is inside the grid and free, j moves and then ``obj`` moves; otherwise (lighter or equal mover, j against a
    wall, or j against another object: a chain of two) nothing moves.

    Parameters
    ----------
    positions : numpy.ndarray
        (n, 2) int (row, col) cells, distinct.
    weights : numpy.ndarray
        (n,) weights.
    obj : int
        Object in [0, n).
    direction : int
        In [0, 5).
    grid : int
        Grid side g.

    Returns
    -------
    numpy.ndarray
        (n, 2) int64 new positions (a new array; the input is not changed).
    """
    pos = np.array(positions, dtype=np.int64)
    d = DIRECTIONS[direction]
    if not d.any():
        return pos
    target = pos[obj] + d
    if target.min() < 0 or target.max() >= grid:
        return pos
    blocker = np.flatnonzero((pos == target).all(axis=1))
    if blocker.size:
        j = int(blocker[0])
        if weights[obj] <= weights[j]:
            return pos
        beyond = target + d
        if beyond.min() < 0 or beyond.max() >= grid or (pos == beyond).all(axis=1).any():
            return pos
        pos[j] = beyond
    pos[obj] = target
    return pos


class PhysicsEnv(gym.Env):
    """Weighted block pushing as a gymnasium environment (card §2.2, "Observed" colours without jitter).

    n blocks on distinct cells of a g x g grid, weights ``w_i = n - i`` (object 0 heaviest), coloured in shades of
    blue by weight (darker = heavier), object i with shape ``i % 8``. Action ``a = 5 i + d`` moves object i in
    direction d (:data:`DIRECTIONS`) under :func:`physics_push`. Positions are drawn uniformly (distinct) at reset;
    the goal is made by ``goal_steps`` random actions from there; reward = minus the mean Manhattan distance between
    each object and its goal cell (0 = success). ``terminated`` is always False; ``truncated`` after ``max_steps``.

    Parameters
    ----------
    n : int, default 3
        Number of objects, >= 2.
    cell : int, default 5
    grid : int or None, default None
        Grid side; None means ``ceil(sqrt(n)) + 1``.
    max_steps : int, default 10
    goal_steps : int, default 10
    render_mode : {"rgb_array", None}
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(self, n: int = 3, cell: int = 5, grid: int | None = None, max_steps: int = 10,
                 goal_steps: int = 10, render_mode: str | None = None) -> None:
        self.n = _check_int("n (number of objects)", n, 2)
        self.cell = _check_int("cell", cell, 1)
        self.grid = _grid_size(self.n, grid)
        self.max_steps = _check_int("max_steps", max_steps, 1)
        self.goal_steps = _check_int("goal_steps", goal_steps, 0)
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.render_mode = render_mode
        self.weights = (self.n - np.arange(self.n)).astype(np.int64)
        self._adjacency = (self.weights[None, :] > self.weights[:, None]).astype(np.int8)  # A[j, i]: i pushes j
        t = (np.arange(self.n) / (self.n - 1))[:, None].astype(np.float32)  # 0 for the heaviest
        self.palette = (_BLUE_DARK + (_BLUE_LIGHT - _BLUE_DARK) * t).astype(np.float32)
        self._renderer = _Renderer(self.n, self.grid, self.cell, self.palette)
        self._color_idx = np.arange(self.n, dtype=np.int64)[None]
        self.image_shape = self._renderer.image_shape
        self.observation_space = spaces.Box(0.0, 1.0, self.image_shape, np.float32)
        self.action_space = spaces.Discrete(5 * self.n)
        self._positions = _static_cells(self.n, self.grid)
        self._goal = self._positions.copy()
        self._t = 0

    @property
    def adjacency(self) -> np.ndarray:
        """(n, n) int8, ``A[j, i] = 1`` when ``w_i > w_j`` (i can push j): strictly lower-triangular, full."""
        return self._adjacency

    @property
    def positions(self) -> np.ndarray:
        """(n, 2) int64 current (row, col) cells (a copy)."""
        return self._positions.copy()

    @property
    def goal(self) -> np.ndarray:
        """(n, 2) int64 goal cells (a copy)."""
        return self._goal.copy()

    @staticmethod
    def encode_action(obj: int, direction: int) -> int:
        """``a = 5 obj + direction``."""
        return 5 * int(obj) + int(direction)

    @staticmethod
    def decode_action(action: int) -> tuple[int, int]:
        """``(a // 5, a % 5)``: the object and the direction index."""
        return int(action) // 5, int(action) % 5

    def render_positions(self, positions: np.ndarray) -> np.ndarray:
        """(3, H, W) float32 image of the blocks at ``positions`` (n, 2)."""
        return self._renderer.render(self._color_idx, np.asarray(positions, dtype=np.int64)[None])[0]

    def _reward(self) -> float:
        return -float(np.abs(self._positions - self._goal).sum(axis=1).mean())

    def _info(self, reward: float) -> dict[str, Any]:
        return {"goal_positions": self._goal.copy(), "goal_image": self.render_positions(self._goal),
                "success": reward == 0.0}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        cells = self.np_random.permutation(self.grid * self.grid)[: self.n]
        self._positions = np.stack([cells // self.grid, cells % self.grid], axis=-1).astype(np.int64)
        goal = self._positions
        for a in self.np_random.integers(0, self.action_space.n, size=self.goal_steps):
            obj, d = self.decode_action(a)
            goal = physics_push(goal, self.weights, obj, d, self.grid)
        self._goal = goal
        self._t = 0
        return self.render_positions(self._positions), self._info(self._reward())

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(f"action must be an integer in [0, {self.action_space.n}), got {action!r}")
        obj, d = self.decode_action(action)
        self._positions = physics_push(self._positions, self.weights, obj, d, self.grid)
        self._t += 1
        reward = self._reward()
        return self.render_positions(self._positions), reward, False, self._t >= self.max_steps, self._info(reward)

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            return None
        return np.round(self.render_positions(self._positions).transpose(1, 2, 0) * 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------------------------
# registration

_IDS = {"neurodyn/Chemistry-v0": "neurodyn.causal.envs:ChemistryEnv",
        "neurodyn/Physics-v0": "neurodyn.causal.envs:PhysicsEnv"}


def register_envs() -> None:
    """Register ``neurodyn/Chemistry-v0`` and ``neurodyn/Physics-v0`` with gymnasium (ids already there are kept)."""
    for env_id, entry_point in _IDS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point)


register_envs()
