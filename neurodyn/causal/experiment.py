"""Experiments of the causal-induction page (``docs/papers/causal.md §4``).

- ``causal``: three world models (monolithic, modular, GNN) trained with one loss (contrastive or reconstruction)
  on the same random-policy transitions of one Chemistry world, on the same batches; every ``eval_every`` steps each
  is scored on held-out paths by multi-step latent ranking (H@1 and MRR at k = 1 and k = 5), under the paper's tie
  rule and under the pessimistic rule with de-duplicated targets (card §6, §8).
- ``causal_sweep``: the same for N = 3, 5, 7 objects one after the other (a background job with progress), giving
  H@1 against N per model.

Data (card §3 SMALL preset): ``episodes`` episodes of ``episode_steps`` uniformly random interventions from a reset
state, rendered on a ``ceil(sqrt(N)) + 1`` grid of 5-pixel cells; the test paths start from fresh resets of the same
world (same graph and mechanisms) and apply k random interventions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from neurodyn.causal.envs import ChemistryBatch
from neurodyn.causal.graphs import FAMILIES, descendants
from neurodyn.causal.metrics import ranking_metrics
from neurodyn.causal.models import WorldModel, contrastive_loss, reconstruction_loss
from neurodyn.core.config import param
from neurodyn.core.loop import Record
from neurodyn.core.seeding import derive_seed, resolve_device
from neurodyn.core.spec import Metric

__all__ = ["Config", "SweepConfig", "PRESETS", "SWEEP_PRESETS", "MODELS", "MODEL_LABELS", "HORIZONS", "metrics",
           "sweep_metrics", "trained", "CausalExperiment", "SweepExperiment", "build", "build_sweep", "make_world",
           "eval_points", "total_steps", "record_steps"]

MODELS: tuple[str, ...] = ("monolithic", "modular", "gnn")
MODEL_LABELS = {"monolithic": "monolithic MLP", "modular": "modular (one module per object)",
                "gnn": "graph network (C-SWM)"}
HORIZONS = (1, 5)  # prediction steps k of the ranking evaluation (card §2.7: 1, 5, 10)


def _seed(*keys: Any) -> int:
    return derive_seed(*keys) % (2**31 - 1)


@dataclass(frozen=True)
class Config:
    """Settings of one Chemistry world and the three world models (card §3-4)."""

    family: str = param("chain", choices=FAMILIES, label="causal graph",
                        help="chain: each object causes the next; collider: all cause the last; full: every earlier "
                        "object causes every later one; random: each earlier object is a parent with probability p")
    p_edge: float = param(0.5, min=0.0, max=1.0, step=0.05, label="edge probability (random graph)",
                          help="probability that an earlier object is a parent", applies=lambda v: v.get("family")
                          == "random")
    n_objects: int = param(3, min=3, max=8, label="objects N", help="nodes of the causal graph")
    n_colors: int = param(5, min=3, max=6, label="colours C", help="states of each object")
    positions: str = param("static", choices=("static", "dynamic"), label="object positions",
                           help="static: each object always in its own cell; dynamic: new cells at every reset")
    stochastic: bool = param(False, label="stochastic mechanisms",
                             help="sample each new colour from its mechanism's softmax instead of taking the most "
                             "likely one (caps the reachable H@1 below 1)")
    use_monolithic: bool = param(True, label="train the monolithic MLP", help="one network over all objects")
    use_modular: bool = param(True, label="train the modular model", help="one transition module per object")
    use_gnn: bool = param(True, label="train the graph network (C-SWM)", help="messages between every pair of "
                          "objects")
    loss: str = param("contrastive", choices=("contrastive", "reconstruction"), label="training loss",
                      help="contrastive: the C-SWM hinge in latent space; reconstruction: decode the images and "
                      "predict the next latent (the paper's other family, trained jointly here, not in three stages)")
    effect_negative: bool = param(True, label="effect negatives (project option)",
                                  help="also push apart the states before and after a transition that changed the "
                                  "image (card §3; not in the paper, whose loss is the hinge alone)",
                                  applies=lambda v: v.get("loss") == "contrastive")
    action_aware: bool = param(False, label="graph network edges see the action (project option)",
                               help="append the sender's action to each edge's input, so a node can see an "
                               "intervention on another object (not in the paper)")
    episodes: int = param(200, min=20, max=2000, label="training episodes", help="random-policy episodes")
    episode_steps: int = param(20, min=5, max=100, label="steps per episode", help="interventions per episode")
    test_paths: int = param(1000, min=100, max=5000, label="test paths", help="held-out paths per horizon k")
    steps: int = param(1000, min=100, max=50_000, label="training steps", help="Adam steps per model")
    batch: int = param(64, min=16, max=1024, label="batch size", help="transitions per step")
    lr: float = param(1e-3, min=1e-4, max=1e-2, log=True, label="learning rate", help="Adam step size")
    latent_dim: int = param(4, min=2, max=32, label="latent size per object", help="D")
    steps_per_record: int = param(8, min=1, max=1000, label="steps per record", help="Adam steps between records")
    eval_every: int = param(100, min=20, max=5000, label="steps between evaluations",
                            help="steps between two rankings on the test paths")
    seed: int = param(0, min=0, max=2**31 - 1, label="seed", help="world, data, initialisation and batches")
    device: str = param("auto", choices=("auto", "cpu", "cuda"), label="device", help="torch device")


    def __post_init__(self) -> None:
        if not (self.use_monolithic or self.use_modular or self.use_gnn):
            raise ValueError("no world model to train: switch on at least one of the monolithic, modular and graph "
                             "network models")


@dataclass(frozen=True)
class SweepConfig:
    """Settings of the sweep over the number of objects (card §4, "sweep N")."""

    sizes: str = param("3,5,7", label="numbers of objects", help="comma-separated N, each 3-8")
    family: str = param("chain", choices=FAMILIES, label="causal graph", help="as in the main run")
    n_colors: int = param(5, min=3, max=6, label="colours C", help="states of each object")
    steps: int = param(500, min=100, max=20_000, label="training steps per N",
                       help="Adam steps per model and N (500 keeps the three sizes within a minute)")
    seed: int = param(0, min=0, max=2**31 - 1, label="seed", help="world, data, initialisation and batches")
    device: str = param("auto", choices=("auto", "cpu", "cuda"), label="device", help="torch device")

    def __post_init__(self) -> None:
        values = self.n_values
        if not values or any(not 3 <= v <= 8 for v in values):
            raise ValueError(f"sizes must be comma-separated numbers of objects between 3 and 8, got {self.sizes!r}")

    @property
    def n_values(self) -> list[int]:
        """The numbers of objects, sorted and without repeats (empty when ``sizes`` does not parse)."""
        try:
            return sorted({int(v) for v in self.sizes.split(",") if v.strip()})
        except ValueError:
            return []


PRESETS: dict[str, Config] = {
    # card §3 has 2000 steps of batch 128; half of each keeps the three models within a minute in the browser
    "small": Config(),
    "talk": Config(steps=600),
    "paper": Config(n_objects=5, episodes=1000, episode_steps=100, test_paths=2000, steps=20_000, batch=512,
                    lr=5e-4, effect_negative=False, eval_every=1000, steps_per_record=50),
}
SWEEP_PRESETS: dict[str, SweepConfig] = {"small": SweepConfig(), "paper": SweepConfig(sizes="3,5,7", steps=5000)}


def trained(config: Config) -> tuple[str, ...]:
    """The world models a run trains, in the order of :data:`MODELS`."""
    use = {"monolithic": config.use_monolithic, "modular": config.use_modular, "gnn": config.use_gnn}
    return tuple(m for m in MODELS if use[m])


def metrics(config: Config) -> tuple[Metric, ...]:
    """Declared metrics of a ``causal`` run: the step, each trained model's loss, and its ranking scores."""
    out = [Metric("step", "", "Adam steps taken by each model"), Metric("evaluated_at", "", "step of the latest "
                                                                                           "ranking")]
    for m in trained(config):
        out.append(Metric(f"loss_{m}", "", f"{MODEL_LABELS[m]}: training loss (mean of the last steps)"))
        for k in HORIZONS:
            out += [Metric(f"h1_k{k}_{m}", "", f"{MODEL_LABELS[m]}: H@1 at k = {k}, pessimistic rule, de-duplicated"),
                    Metric(f"mrr_k{k}_{m}", "", f"{MODEL_LABELS[m]}: MRR at k = {k}, pessimistic rule, "
                                                 "de-duplicated"),
                    Metric(f"h1_k{k}_{m}_paper", "", f"{MODEL_LABELS[m]}: H@1 at k = {k}, the paper's tie rule"),
                    Metric(f"mrr_k{k}_{m}_paper", "", f"{MODEL_LABELS[m]}: MRR at k = {k}, the paper's tie rule")]
    return tuple(out)


def sweep_metrics(config: SweepConfig) -> tuple[Metric, ...]:
    """Declared metrics of a ``causal_sweep`` run: progress, and each size's final H@1 at k = 5 per model."""
    out = [Metric("n_done", "", "numbers of objects finished"), Metric("current_n", "", "N being trained")]
    for n in config.n_values:
        out += [Metric(f"h1_k5_{m}_n{n}", "", f"{MODEL_LABELS[m]}: final H@1 at k = 5 with N = {n} (pessimistic, "
                                                "de-duplicated)") for m in MODELS]
    return tuple(out)


def eval_points(config: Config) -> list[int]:
    """Steps at which the models are ranked: 0, every ``eval_every`` steps, and the last step."""
    return sorted({0, *range(config.eval_every, config.steps, config.eval_every), config.steps})


def record_steps(config: Config) -> int:
    """Adam steps per training record: ``steps_per_record``, halved for the reconstruction loss (its decoder doubles
    a step's cost; a record stays well under half a second)."""
    return config.steps_per_record if config.loss == "contrastive" else max(1, config.steps_per_record // 2)


def total_steps(config: Config) -> int:
    """Records of a ``causal`` run: training chunks (never across an evaluation) plus one per model and evaluation."""
    points = eval_points(config)
    per = record_steps(config)
    chunks = sum(math.ceil((b - a) / per) for a, b in zip(points[:-1], points[1:]))
    return chunks + len(points) * len(trained(config))


def make_world(config: Config, batch: int) -> ChemistryBatch:
    """The run's Chemistry world with ``batch`` environments (same graph and mechanisms for every ``batch``)."""
    return ChemistryBatch(config.n_objects, config.n_colors, family=config.family, p_edge=config.p_edge,
                          positions=config.positions, stochastic=config.stochastic, batch=batch,
                          seed=_seed(config.seed, "world"))


class CausalExperiment:
    """Data, three world models and their evaluation (module docstring)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.device = resolve_device(config.device)
        cfg = config
        world = make_world(cfg, cfg.episodes)
        self.adjacency = world.adjacency.copy()
        rng = np.random.default_rng(_seed(cfg.seed, "policy"))
        colors = [world.reset(seed=_seed(cfg.seed, "train-reset"))]
        actions = []
        for _ in range(cfg.episode_steps):
            a = rng.integers(0, cfg.n_objects * cfg.n_colors, size=cfg.episodes)
            actions.append(a)
            colors.append(world.step(a).copy())
        C = np.stack(colors, 1)  # (E, T + 1, N)
        A = np.stack(actions, 1)  # (E, T)
        E, T = A.shape
        positions = np.repeat(world.positions[:, None], T + 1, axis=1)  # fixed within an episode
        images = world.render(C.reshape(E * (T + 1), -1), positions.reshape(E * (T + 1), -1, 2))
        images = torch.as_tensor(images).reshape(E, T + 1, *images.shape[1:])
        self.obs = images[:, :-1].reshape(E * T, *images.shape[2:]).to(self.device)
        self.next_obs = images[:, 1:].reshape(E * T, *images.shape[2:]).to(self.device)
        self.actions = torch.as_tensor(A.reshape(-1), dtype=torch.int64, device=self.device)
        self.image_shape = tuple(images.shape[2:])
        self.example = {"before": images[0, 0].numpy(), "after": images[0, 1].numpy(),
                        "colors_before": C[0, 0], "colors_after": C[0, 1], "action": int(A[0, 0]),
                        "positions": world.positions[0].copy()}
        self.test = self._test_paths(cfg)
        self.kinds = trained(cfg)
        self.models = {m: WorldModel(m, cfg.n_objects, cfg.n_colors, self.image_shape, latent_dim=cfg.latent_dim,
                                     action_aware=cfg.action_aware and m == "gnn",
                                     decoder=cfg.loss == "reconstruction",
                                     generator=torch.Generator().manual_seed(_seed(cfg.seed, "init", m)))
                       .to(self.device) for m in self.kinds}
        self.opts = {m: torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=True)  # fused: 10 ms less per step
                     for m, model in self.models.items()}
        self.batch_gen = torch.Generator().manual_seed(_seed(cfg.seed, "batches"))
        self.neg_gens = {m: torch.Generator().manual_seed(_seed(cfg.seed, "negatives", m)) for m in self.kinds}
        self.it, self.k = 0, 0
        self.eval_points = eval_points(cfg)
        self.total_steps = total_steps(cfg)
        self._pending: list[str] = list(self.kinds)  # the evaluation at step 0 first
        self._losses = {m: 0.0 for m in self.kinds}
        self._scores: dict[str, float] = {}
        self._evaluated_at = 0

    def _test_paths(self, cfg: Config) -> dict[int, dict[str, Any]]:
        """For each horizon k: first images, k actions, last images and the true state id of the last state."""
        out = {}
        for k in HORIZONS:
            world = make_world(cfg, cfg.test_paths)
            c0 = world.reset(seed=_seed(cfg.seed, "test-reset", k)).copy()
            rng = np.random.default_rng(_seed(cfg.seed, "test-policy", k))
            first = world.render(c0, world.positions)
            acts = rng.integers(0, cfg.n_objects * cfg.n_colors, size=(cfg.test_paths, k))
            for t in range(k):
                world.step(acts[:, t])
            out[k] = {"first": torch.as_tensor(first, device=self.device),
                      "actions": torch.as_tensor(acts, dtype=torch.int64, device=self.device),
                      "last": torch.as_tensor(world.render(world.colors, world.positions), device=self.device),
                      "ids": torch.as_tensor(world.state_ids(world.colors), device=self.device), "colors0": c0}
        return out

    @property
    def done(self) -> bool:
        """True after the last evaluation."""
        return self.k >= self.total_steps

    def step(self) -> Record:
        """One unit of work: one model's evaluation on the test paths, or :func:`record_steps` training steps of
        every model on the same batches."""
        artifacts: dict[str, Any] = {}
        if self._pending:
            m = self._pending.pop(0)
            self._evaluate(m)
            self._evaluated_at = self.it
            if m == self.kinds[-1]:
                artifacts = {"evaluated": self.it, "latents": self._latents()}
            if self.k == 0:
                artifacts["example"] = self.example
                artifacts["adjacency"] = self.adjacency
        else:
            cfg = self.config
            target = next(p for p in self.eval_points if p > self.it)
            n = min(record_steps(cfg), target - self.it)
            sums = {m: 0.0 for m in self.kinds}
            for _ in range(n):
                idx = torch.randint(0, len(self.actions), (cfg.batch,), generator=self.batch_gen).to(self.device)
                for m, model in self.models.items():
                    model.train()
                    if cfg.loss == "contrastive":
                        loss, _ = contrastive_loss(model, self.obs[idx], self.actions[idx], self.next_obs[idx],
                                                   effect_negative=cfg.effect_negative, generator=self.neg_gens[m])
                    else:
                        loss, _ = reconstruction_loss(model, self.obs[idx], self.actions[idx], self.next_obs[idx])
                    self.opts[m].zero_grad(set_to_none=True)
                    loss.backward()
                    self.opts[m].step()
                    sums[m] += loss.item()
            self._losses = {m: s / n for m, s in sums.items()}
            self.it += n
            if self.it == target:
                self._pending = list(self.kinds)
        rec = Record(self.k, self._metrics(), artifacts)
        self.k += 1
        return rec

    @torch.no_grad()
    def _evaluate(self, m: str) -> None:
        model = self.models[m]
        model.eval()
        for k, path in self.test.items():
            pred = model.rollout(model.encode(path["first"]), path["actions"])
            target = model.encode(path["last"])
            for rule, suffix, ids in (("pessimistic", "", path["ids"]), ("paper", "_paper", None)):
                scores = ranking_metrics(pred, target, rule=rule, state_ids=ids)
                self._scores[f"h1_k{k}_{m}{suffix}"] = scores["hits_at_1"]
                self._scores[f"mrr_k{k}_{m}{suffix}"] = scores["mrr"]

    @torch.no_grad()
    def _latents(self) -> dict[str, np.ndarray]:
        """Each model's latents of the first 300 test images on their top two principal components (300, 2), and
        the first object's colour in each image (``first_colors``)."""
        out = {}
        first = self.test[1]["first"][:300]
        for m, model in self.models.items():
            z = model.encode(first).reshape(len(first), -1).double()
            z = z - z.mean(0)
            _, _, v = torch.linalg.svd(z, full_matrices=False)
            out[m] = (z @ v[:2].T).cpu().numpy()
        out["first_colors"] = self.test[1]["colors0"][:300, 0].copy()
        return out

    def _metrics(self) -> dict[str, float]:
        out = {"step": float(self.it), "evaluated_at": float(self._evaluated_at)}
        for m in self.kinds:
            out[f"loss_{m}"] = self._losses[m]
            for k in HORIZONS:
                for name in (f"h1_k{k}_{m}", f"mrr_k{k}_{m}", f"h1_k{k}_{m}_paper", f"mrr_k{k}_{m}_paper"):
                    out[name] = float(self._scores.get(name, 0.0))
        return out

    def intervened(self) -> tuple[int, set[int]]:
        """The example transition's intervened object and its descendants in the graph."""
        i = self.example["action"] // self.config.n_colors
        return i, descendants(self.adjacency, i)


class SweepExperiment:
    """``causal`` at each N of ``sizes`` in turn (small-preset settings, ``steps`` per model), one step at a time."""

    def __init__(self, config: SweepConfig) -> None:
        self.config = config
        self.sizes = config.n_values
        self.final: dict[str, float] = {}
        self._index = 0
        self._inner = self._make(self.sizes[0])
        self.total_steps = sum(total_steps(self._make_config(n)) for n in self.sizes)
        self.k = 0

    def _make_config(self, n: int) -> Config:
        cfg = self.config
        return replace(PRESETS["small"], n_objects=n, family=cfg.family, n_colors=cfg.n_colors, steps=cfg.steps,
                       eval_every=cfg.steps, seed=cfg.seed, device=cfg.device)

    def _make(self, n: int) -> CausalExperiment:
        return CausalExperiment(self._make_config(n))

    @property
    def done(self) -> bool:
        """True once every size is trained and scored."""
        return self._index >= len(self.sizes)

    def step(self) -> Record:
        """One step of the current size's run; a finished size records its final scores."""
        rec = self._inner.step()
        artifacts: dict[str, Any] = {}
        n = self.sizes[self._index]
        if self._inner.done:
            for m in MODELS:
                self.final[f"h1_k5_{m}_n{n}"] = rec.metrics[f"h1_k5_{m}"]
            artifacts = {"finished_n": n, "scores": dict(rec.metrics)}
            self._index += 1
            if not self.done:
                self._inner = self._make(self.sizes[self._index])
        out = {"n_done": float(self._index), "current_n": float(n)}
        for size in self.sizes:
            for m in MODELS:
                key = f"h1_k5_{m}_n{size}"
                out[key] = float(self.final.get(key, 0.0))
        record = Record(self.k, out, artifacts)
        self.k += 1
        return record


def build(config: Config) -> CausalExperiment:
    """Build a ``causal`` run from its config."""
    return CausalExperiment(config)


def build_sweep(config: SweepConfig) -> SweepExperiment:
    """Build a ``causal_sweep`` run from its config."""
    return SweepExperiment(config)
