"""The ``multitask`` experiment: modular latent primitives against three other multi-task strategies
(``docs/papers/multitask.md §4``).

One run goes through four stages, one short job per record (each under half a second on one CPU thread):

1. **corpus statistics and PCA**: trials of all nine tasks in equal shares (batch ``j`` is task ``j mod 9``), the
   13-number latent bank of each step (or, with the teacher source, a joint multi-task RNN trained on the same
   trials with a task one-hot), and a PCA of it; K = 2M components are kept. Artifact ``scree``.
2. **module pre-training**: module m (n units, the 5 sensory inputs, its own read-out) learns to output components
   2m and 2m + 1 over time. The M modules train side by side as the M groups of one grouped model, each group with its
   own loss summed into one scalar: groups share no parameter and Adam's update is per element, so this is exactly M
   isolated trainings. Skipped with the random source. Artifact ``pretrain_sample``.
3. **task learning**: the chosen tasks, on the same trials for every strategy, padded to one common length T:
   Separate (one fully trained RNN per task), Joint (one RNN with a task one-hot, trained on mixed batches of all
   chosen tasks), Modular-random (frozen untrained 0.9-orthogonal blocks; per-task input and read-out weights) and
   MoLaP (the pre-trained blocks, frozen; per-task input weights initialised from the pre-training input weights).
   Then each strategy's accuracy on ``eval_trials`` fixed fresh trials per task. Artifacts ``accuracy``,
   ``examples``, ``activity``, ``w_rec_molap``, ``w_rec_joint``.
4. **perturbation sweep**: recurrent weight noise (eta times each network's own weight spread) and silenced units
   (a fraction f), ``levels`` magnitudes above zero and ``draws`` random draws each, accuracy averaged over tasks,
   raw and divided by the unperturbed accuracy. Magnitude zero reproduces the unperturbed accuracy exactly.
   Artifact ``perturbation`` per job.

Accuracy is measured without recurrent noise (input noise on), on trials drawn once from the run's seed, so two
evaluations of one network give the same number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from neurodyn.core.config import param
from neurodyn.core.loop import Record
from neurodyn.core.seeding import derive_seed
from neurodyn.core.spec import Metric
from neurodyn.multitask.network import (
    LeakyRNN,
    masked_mse,
    perturb_recurrence,
    silence_units,
    strategy_parameter_counts,
)
from neurodyn.multitask.primitives import fit_pca, latent_bank
from neurodyn.multitask.tasks import (
    N_INPUTS,
    N_OUTPUTS,
    TASK_LABELS,
    TASKS,
    Timing,
    accuracy,
    make_batch,
    max_length,
)

__all__ = ["Config", "PRESETS", "STRATEGIES", "STRATEGY_LABELS", "PRIMITIVES", "PERTURBATIONS", "STAGES",
           "DEFAULT_TASKS", "metrics", "parse_tasks", "jobs", "magnitudes",
           "MultitaskExperiment", "build"]

#: Metric keys of the four strategies, and their names in words (the names of ``strategy_parameter_counts``).
STRATEGIES: tuple[str, ...] = ("separate", "joint", "random", "molap")
STRATEGY_LABELS = {"separate": "Separate", "joint": "Joint", "random": "Modular-random", "molap": "MoLaP"}
PRIMITIVES: tuple[str, ...] = ("latent bank PCA", "teacher PCA", "random")
PERTURBATIONS: tuple[str, ...] = ("weight noise", "silencing")
STAGES: tuple[str, ...] = ("corpus statistics and PCA", "module pre-training", "task learning", "perturbation sweep")
DEFAULT_TASKS = "DelayPro,MemoryAnti,MemoryDm1,ContextMemoryDm2"  # card §3
CORPUS_CHUNK = 12  # corpus batches per record
TEACHER_CHUNK = 3  # teacher steps per record
PRETRAIN_CHUNK = 3  # pre-training steps per record
TEACHER_PCA_BATCHES = 18  # corpus batches (two per task) whose teacher states enter the teacher PCA


def _seed(*keys: Any) -> int:
    return derive_seed(*keys) % (2**31 - 1)


def parse_tasks(text: str) -> tuple[str, ...]:
    """The task names of a comma-separated list (case and spaces ignored), in the given order.

    Raises
    ------
    ValueError
        For an empty list, an unknown name (the message lists the valid names) or a repeated task.
    """
    by_lower = {t.lower(): t for t in TASKS}
    names = [p.strip() for p in str(text).split(",") if p.strip()]
    if not names:
        raise ValueError(f"tasks must name at least one task; valid tasks: {', '.join(TASKS)}")
    out = []
    for name in names:
        key = name.replace(" ", "").lower()
        if key not in by_lower:
            raise ValueError(f"unknown task {name!r} in tasks; valid tasks: {', '.join(TASKS)}")
        if by_lower[key] in out:
            raise ValueError(f"task {by_lower[key]!r} is listed twice in tasks")
        out.append(by_lower[key])
    return tuple(out)


@dataclass(frozen=True)
class Config:
    """Settings of one modular-latent-primitives run (card §3-4)."""

    tasks: str = param(DEFAULT_TASKS, label="tasks (comma-separated)",
                       help="tasks to learn, from: " + ", ".join(TASKS))
    n_modules: int = param(4, min=2, max=6, label="modules M", help="recurrent modules of the modular networks")
    module_size: int = param(32, min=16, max=64, label="units per module n", help="units of each module")
    primitives: str = param("latent bank PCA", choices=PRIMITIVES, label="primitive source",
                            help="what the modules are pre-trained to produce: principal components of the latent "
                            "bank of the task corpus, of a multi-task teacher network's states, or nothing (random "
                            "untrained modules)")
    separate_units: int = param(64, min=16, max=256, label="units per separate network",
                                help="hidden units of each task's own network (Separate)")
    joint_units: int = param(128, min=32, max=512, label="units of the joint network",
                             help="hidden units of the one network trained on all tasks (Joint), also the teacher's")
    steps_per_task: int = param(600, min=10, max=5000, label="training steps per task",
                                help="Adam steps of every strategy (all chosen tasks learn side by side)")
    pretrain_steps: int = param(400, min=10, max=5000, label="pre-training steps per module",
                                help="Adam steps of each module on its two principal components",
                                applies=lambda v: v.get("primitives") != "random")
    teacher_steps: int = param(300, min=10, max=5000, label="teacher training steps",
                               help="Adam steps of the multi-task teacher network (teacher source only)",
                               applies=lambda v: v.get("primitives") == "teacher PCA")
    corpus_batches: int = param(60, min=9, max=300, label="corpus batches",
                                help="batches of trials of all nine tasks (equal shares) for the PCA")
    batch: int = param(64, min=8, max=256, label="batch size", help="trials per Adam step")
    lr: float = param(1e-3, min=1e-4, max=1e-2, log=True, label="learning rate", help="Adam step size")
    alpha: float = param(0.5, min=0.05, max=1.0, step=0.05, label="leak alpha (dt / tau)",
                         help="fraction of the state replaced at every step")
    sigma_rec: float = param(0.05, min=0.0, max=0.5, step=0.01, label="recurrent noise",
                             help="sigma_rec during training (the noise std is sqrt(2 / alpha) sigma_rec)")
    input_noise: float = param(0.05, min=0.0, max=0.5, step=0.01, label="input noise",
                               help="std of the Gaussian noise on every input")
    perturbations: str = param("both", choices=("both", *PERTURBATIONS), label="perturbations",
                               help="weight noise: Gaussian noise on the recurrent weights, scaled by each network's "
                               "own weight spread; silencing: a random fraction of units clamped to 0")
    max_weight_noise: float = param(0.5, min=0.05, max=2.0, step=0.05, label="largest weight noise eta",
                                    help="largest noise std, as a multiple of the network's recurrent weight std",
                                    applies=lambda v: v.get("perturbations") != "silencing")
    max_silenced: float = param(0.3, min=0.05, max=0.9, step=0.05, label="largest silenced fraction f",
                                help="largest fraction of units clamped to zero",
                                applies=lambda v: v.get("perturbations") != "weight noise")
    levels: int = param(4, min=1, max=10, label="perturbation magnitudes",
                        help="magnitudes above zero, evenly spaced up to the largest")
    draws: int = param(3, min=1, max=10, label="random draws per magnitude",
                       help="perturbations drawn per magnitude and strategy")
    eval_trials: int = param(256, min=16, max=2048, label="evaluation trials per task",
                             help="fresh trials (drawn once from the seed) for every accuracy")
    seed: int = param(0, min=0, max=2**31 - 1, label="seed", help="trials, initialisation and perturbations")
    device: str = param("cpu", choices=("cpu",), label="device", help="torch device (CPU only)")

    def __post_init__(self) -> None:
        parse_tasks(self.tasks)
        if self.primitives == "latent bank PCA" and 2 * self.n_modules > 13:
            raise ValueError(f"the latent bank has 13 components: {self.n_modules} modules need "
                             f"{2 * self.n_modules}; use at most 6 modules")

    @property
    def task_list(self) -> tuple[str, ...]:
        """The chosen task names, in the given order."""
        return parse_tasks(self.tasks)

    @property
    def timing(self) -> Timing:
        """The trial timing (card §2.1 small timings) with this run's input noise."""
        return Timing(input_noise=self.input_noise)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The perturbations swept."""
        return PERTURBATIONS if self.perturbations == "both" else (self.perturbations,)


PRESETS: dict[str, Config] = {
    # card §3 sizes; fewer steps of a smaller batch at a larger learning rate so that the whole run stays under 40 s
    # of one core (card: 600 steps per task, 400 pre-training steps, 60 corpus batches, batch 64, lr 1e-3)
    "small": Config(steps_per_task=150, pretrain_steps=120, corpus_batches=36, batch=32, lr=3e-3, eval_trials=128,
                    levels=3, draws=2),
    "paper": Config(tasks=",".join(TASKS), steps_per_task=600, pretrain_steps=400, corpus_batches=60),
}


def magnitudes(config: Config, kind: str) -> list[float]:
    """The swept magnitudes of ``kind``: 0 and ``levels`` evenly spaced values up to the largest."""
    top = config.max_weight_noise if kind == "weight noise" else config.max_silenced
    return [top * i / config.levels for i in range(config.levels + 1)]


def _chunks(total: int, size: int) -> list[int]:
    """``total`` steps as records of ``size`` steps, the last one shorter if it must be."""
    return [min(size, total - done) for done in range(0, total, size)]


def jobs(config: Config) -> list[tuple]:
    """The run's records, one job each: ``(stage, kind, *args)`` with stage 1-4 (module docstring)."""
    out: list[tuple] = []
    for i in range(math.ceil(config.corpus_batches / CORPUS_CHUNK)):
        out.append((1, "corpus", i))
    if config.primitives == "teacher PCA":
        out += [(1, "teacher", n) for n in _chunks(config.teacher_steps, TEACHER_CHUNK)]
    out.append((1, "pca"))
    if config.primitives != "random":
        out += [(2, "pretrain", n) for n in _chunks(config.pretrain_steps, PRETRAIN_CHUNK)]
    for _ in range(config.steps_per_task):  # one record per strategy and Adam step, all four on the same trials,
        out += [(3, "train", s) for s in STRATEGIES]  # so that a record stays under 0.5 s at nine tasks too
    out += [(3, "eval", s) for s in STRATEGIES]
    for kind in config.kinds:
        out += [(4, "perturb", kind, 0, 0, s) for s in STRATEGIES]
        for level in range(1, config.levels + 1):
            out += [(4, "perturb", kind, level, d, s) for d in range(config.draws) for s in STRATEGIES]
    return out


def metrics(config: Config) -> tuple[Metric, ...]:
    """Declared metrics of a ``multitask`` run (0.0 until the stage that computes a value has run)."""
    tasks = config.task_list
    out = [Metric("stage", "", "stage (1 corpus and PCA, 2 pre-training, 3 task learning, 4 perturbations)"),
           Metric("stage_progress", "", "fraction of the current stage done"),
           Metric("teacher_loss", "", "teacher network: training loss"),
           Metric("pretrain_step", "", "pre-training steps taken"),
           Metric("task_step", "", "task-learning steps taken by each strategy"),
           Metric("evaluated", "", "strategies whose accuracy is measured"),
           Metric("perturbations_done", "", "perturbation jobs done")]
    out += [Metric(f"pretrain_loss_m{m + 1}", "", f"module {m + 1}: pre-training loss")
            for m in range(config.n_modules)]
    out += [Metric(f"activity_m{m + 1}", "", f"MoLaP module {m + 1}: mean activity during task learning")
            for m in range(config.n_modules)]
    for s in STRATEGIES:
        name = STRATEGY_LABELS[s]
        out.append(Metric(f"loss_{s}", "", f"{name}: training loss, mean over tasks"))
        out += [Metric(f"loss_{s}_{t}", "", f"{name}: training loss on {TASK_LABELS[t]}") for t in tasks]
        out.append(Metric(f"acc_{s}", "", f"{name}: accuracy, mean over tasks"))
        out += [Metric(f"acc_{s}_{t}", "", f"{name}: accuracy on {TASK_LABELS[t]}") for t in tasks]
        out += [Metric(f"params_total_{s}", "", f"{name}: parameters stored for all tasks"),
                Metric(f"params_updated_{s}", "", f"{name}: parameters updated per new task")]
    return tuple(out)


class MultitaskExperiment:
    """The four stages of the module docstring, one job per ``step()``."""

    def __init__(self, config: Config) -> None:
        cfg = config
        self.config = config
        self.tasks = cfg.task_list
        self.timing = cfg.timing
        self.length = max(max_length(t, self.timing) for t in self.tasks)  # common T of the chosen tasks
        self.corpus_length = max(max_length(t, self.timing) for t in TASKS)
        self.jobs = jobs(cfg)
        self.total_steps = len(self.jobs)
        self.k = 0
        self.K = 2 * cfg.n_modules
        M, n, G = cfg.n_modules, cfg.module_size, len(self.tasks)
        kw = dict(alpha=cfg.alpha, sigma_rec=cfg.sigma_rec)

        def gen(*keys: Any) -> torch.Generator:
            return torch.Generator().manual_seed(_seed(cfg.seed, *keys))

        # generators: trials (numpy), recurrent noise during training (torch)
        self.rng_corpus = np.random.default_rng(_seed(cfg.seed, "corpus"))
        self.rng_pretrain = np.random.default_rng(_seed(cfg.seed, "pretrain-trials"))
        self.rng_train = np.random.default_rng(_seed(cfg.seed, "task-trials"))
        self.noise = {k: gen("noise", k) for k in ("teacher", "pretrain", *STRATEGIES)}
        # stage 1 and 2 models
        self.teacher = (LeakyRNN(N_INPUTS + len(TASKS), N_OUTPUTS, module_size=cfg.joint_units,
                                 generator=gen("init", "teacher"), **kw)
                        if cfg.primitives == "teacher PCA" else None)
        self.pre = LeakyRNN(N_INPUTS, 2, n_groups=M, n_modules=1, module_size=n, generator=gen("init", "modules"),
                            **kw)
        # stage 3 models
        self.models = {
            "separate": LeakyRNN(N_INPUTS, N_OUTPUTS, n_groups=G, module_size=cfg.separate_units,
                                 generator=gen("init", "separate"), **kw),
            "joint": LeakyRNN(N_INPUTS + G, N_OUTPUTS, module_size=cfg.joint_units, generator=gen("init", "joint"),
                              **kw),
            "random": LeakyRNN(N_INPUTS, N_OUTPUTS, n_groups=G, n_modules=M, module_size=n, shared_recurrence=True,
                               generator=gen("init", "random"), **kw),
            "molap": LeakyRNN(N_INPUTS, N_OUTPUTS, n_groups=G, n_modules=M, module_size=n, shared_recurrence=True,
                              generator=gen("init", "molap"), **kw),
        }
        self.models["random"].freeze_recurrence()
        self.models["molap"].freeze_recurrence()
        self.opts = {s: torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=cfg.lr)
                     for s, m in self.models.items()}
        self.opt_pre = torch.optim.Adam(self.pre.parameters(), lr=cfg.lr)
        self.opt_teacher = torch.optim.Adam(self.teacher.parameters(), lr=cfg.lr) if self.teacher else None
        self.assembled = False
        self.core_after_assembly: torch.Tensor | None = None
        # parameter counts of the built models, and the closed forms
        self.params: dict[str, float] = {}
        for s, m in self.models.items():
            self.params[f"params_total_{s}"] = float(m.parameter_count())
            trainable = m.trainable_parameter_count()
            self.params[f"params_updated_{s}"] = float(trainable if s == "joint" else trainable // G)
        self.formula = strategy_parameter_counts(G, n_modules=M, module_size=n, separate_units=cfg.separate_units,
                                                 joint_units=cfg.joint_units)
        # fixed evaluation trials
        rng_eval = np.random.default_rng(_seed(cfg.seed, "eval-trials"))
        self.eval_batches = [make_batch(t, cfg.eval_trials, generator=rng_eval, timing=self.timing,
                                        length=self.length) for t in self.tasks]
        # state
        self._corpus: list[tuple[str, torch.Tensor]] = []
        self.pca = None
        self._m = {m.name: 0.0 for m in metrics(cfg)}
        self._m.update(self.params)
        self._pretrain_sample = None
        self.acc: dict[str, np.ndarray] = {}
        self._outputs: dict[str, np.ndarray] = {}
        self._base: dict[str, float] = {}
        self._stage_jobs = {s: sum(1 for j in self.jobs if j[0] == s) for s in (1, 2, 3, 4)}
        self._stage_done = {s: 0 for s in (1, 2, 3, 4)}

    # ----------------------------------------------------------------------------------------------- trials

    def _mixed(self, rng: np.random.Generator, size: int) -> tuple[torch.Tensor, ...]:
        """``size`` trials of all nine tasks in equal shares, padded to the corpus length: inputs (B, T, 5), the
        task one-hot (B, T, 9), targets (B, T, 3) and loss mask (B, T)."""
        counts = [size // len(TASKS) + (i < size % len(TASKS)) for i in range(len(TASKS))]
        xs, hot, tg, mk = [], [], [], []
        for i, (task, c) in enumerate(zip(TASKS, counts)):
            if c == 0:
                continue
            b = make_batch(task, c, generator=rng, timing=self.timing, length=self.corpus_length)
            h = torch.zeros(c, self.corpus_length, len(TASKS))
            h[..., i] = 1.0
            xs.append(b.inputs), hot.append(h), tg.append(b.targets), mk.append(b.mask)
        return torch.cat(xs), torch.cat(hot), torch.cat(tg), torch.cat(mk)

    def _targets(self, inputs: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        """The K principal components over time (B, T, K) of the primitive source for these trials."""
        if self.config.primitives == "teacher PCA":
            with torch.no_grad():
                _, h = self.teacher(torch.cat([inputs, onehot], -1)[None])
            return self.pca.transform(h[0], self.K)
        return self.pca.transform(latent_bank(inputs), self.K)

    # ----------------------------------------------------------------------------------------------- stage 1

    def _corpus_job(self, i: int) -> dict[str, Any]:
        cfg = self.config
        for j in range(i * CORPUS_CHUNK, min((i + 1) * CORPUS_CHUNK, cfg.corpus_batches)):
            task = TASKS[j % len(TASKS)]
            b = make_batch(task, cfg.batch, generator=self.rng_corpus, timing=self.timing)
            self._corpus.append((task, b.inputs))
        return {}

    def _teacher_job(self, n: int) -> None:
        cfg = self.config
        losses = []
        for _ in range(n):
            x, hot, target, mask = self._mixed(self.rng_corpus, cfg.batch)
            y, _ = self.teacher(torch.cat([x, hot], -1)[None], noise=self.noise["teacher"])
            loss = masked_mse(y, target[None], mask[None], per_group=True).sum()
            self.opt_teacher.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_teacher.step()
            losses.append(loss.item())
        self._m["teacher_loss"] = float(np.mean(losses))

    def _pca_job(self) -> dict[str, Any]:
        cfg = self.config
        if cfg.primitives == "teacher PCA":
            states = []
            with torch.no_grad():
                for task, x in self._corpus[:TEACHER_PCA_BATCHES]:
                    hot = torch.zeros(*x.shape[:2], len(TASKS))
                    hot[..., TASKS.index(task)] = 1.0
                    _, h = self.teacher(torch.cat([x, hot], -1)[None])
                    states.append(h[0].reshape(-1, h.shape[-1]))
            samples = torch.cat(states)
        else:
            samples = torch.cat([latent_bank(x).reshape(-1, 13) for _, x in self._corpus])
        self.pca = fit_pca(samples)
        if cfg.primitives == "random":
            self._assemble()
        return {"scree": np.asarray(self.pca.explained_variance_ratio, dtype=float), "components_kept": self.K,
                "source": cfg.primitives}

    # ----------------------------------------------------------------------------------------------- stage 2

    def _pretrain_job(self, n: int) -> dict[str, Any]:
        cfg = self.config
        M = cfg.n_modules
        per = torch.zeros(M)
        for _ in range(n):
            x, hot, _, _ = self._mixed(self.rng_pretrain, cfg.batch)
            target = self._targets(x, hot).to(torch.float32)  # (B, T, K)
            target = target.reshape(*target.shape[:2], M, 2).permute(2, 0, 1, 3)  # (M, B, T, 2)
            y, _ = self.pre(x[None].expand(M, *x.shape), noise=self.noise["pretrain"])
            losses = (y - target).pow(2).mean((1, 2, 3))  # one loss per module
            self.opt_pre.zero_grad(set_to_none=True)
            losses.sum().backward()  # the sum keeps each module's gradient its own
            self.opt_pre.step()
            per += losses.detach()
        per /= n
        for m in range(M):
            self._m[f"pretrain_loss_m{m + 1}"] = float(per[m])
        self._m["pretrain_step"] += n
        art: dict[str, Any] = {}
        last = self._stage_done[2] + 1 == self._stage_jobs[2]
        if last or self._stage_done[2] % 10 == 0:
            art["pretrain_sample"] = self._sample()
        if last:
            self._assemble()
        return art

    @torch.no_grad()
    def _sample(self) -> dict[str, Any]:
        """Each module's output against its two target components on one fixed trial (noise off)."""
        rng = np.random.default_rng(_seed(self.config.seed, "pretrain-sample"))
        task = "MemoryDm1"
        b = make_batch(task, 1, generator=rng, timing=self.timing, length=self.corpus_length)
        hot = torch.zeros(1, self.corpus_length, len(TASKS))
        hot[..., TASKS.index(task)] = 1.0
        M = self.config.n_modules
        target = self._targets(b.inputs, hot).to(torch.float32)[0].reshape(-1, M, 2).permute(1, 0, 2)
        y, _ = self.pre(b.inputs[None].expand(M, *b.inputs.shape))
        return {"task": task, "output": y[:, 0].numpy().astype(float), "target": target.numpy().astype(float),
                "inputs": b.inputs[0].numpy().astype(float)}

    @torch.no_grad()
    def _assemble(self) -> None:
        """MoLaP's core from the (pre-trained) modules, frozen; per-task input weights from the modules' input
        weights; fresh read-outs."""
        cfg = self.config
        M, n = cfg.n_modules, cfg.module_size
        mol = self.models["molap"]
        mol.w_rec.copy_(self.pre.w_rec.reshape(1, M, n, n))
        mol.b_rec.copy_(self.pre.b_rec.reshape(1, M * n))
        mol.w_in.copy_(self.pre.w_in.reshape(1, M * n, N_INPUTS).expand_as(mol.w_in))
        mol.b_in.copy_(self.pre.b_in.reshape(1, M * n).expand_as(mol.b_in))
        self.assembled = True
        self.core_after_assembly = mol.w_rec.detach().clone()

    # ----------------------------------------------------------------------------------------------- stage 3

    def _inputs(self, s: str, batches: list) -> torch.Tensor:
        """Model input of strategy ``s`` for one batch per task: (G, B, T, 5), or (1, G B, T, 5 + G) for Joint."""
        x = torch.stack([b.inputs for b in batches])
        if s != "joint":
            return x
        G, B, T, _ = x.shape
        hot = torch.eye(G)[:, None, None, :].expand(G, B, T, G)
        return torch.cat([x, hot], -1).reshape(1, G * B, T, N_INPUTS + G)

    def _train_job(self, s: str) -> None:
        cfg = self.config
        if not self.assembled:
            self._assemble()
        G = len(self.tasks)
        if s == STRATEGIES[0]:  # new trials for this Adam step, shared by the four strategies
            self._batches = [make_batch(t, cfg.batch, generator=self.rng_train, timing=self.timing,
                                        length=self.length) for t in self.tasks]
        batches = self._batches
        targets = torch.stack([b.targets for b in batches])
        mask = torch.stack([b.mask for b in batches])
        model = self.models[s]
        model.train()
        if s == "joint":
            per_joint = max(1, cfg.batch // G)  # Joint: one mixed batch of about `batch` trials per step
            joint_batches = [replace(b, inputs=b.inputs[:per_joint]) for b in batches]
            y, _ = model(self._inputs(s, joint_batches), noise=self.noise[s])
            y = y.reshape(G, per_joint, *y.shape[2:])
            per = masked_mse(y, targets[:, :per_joint], mask[:, :per_joint], per_group=True)
            loss = per.mean()  # one network: the mean over its (equal-weight) tasks
        else:
            y, h = model(self._inputs(s, batches), noise=self.noise[s])
            per = masked_mse(y, targets, mask, per_group=True)
            loss = per.sum()  # independent task groups: each keeps its own gradient
            if s == "molap":
                act = h.detach().mean((0, 1, 2)).reshape(cfg.n_modules, cfg.module_size).mean(1)
                for m in range(cfg.n_modules):
                    self._m[f"activity_m{m + 1}"] = float(act[m])
        self.opts[s].zero_grad(set_to_none=True)
        loss.backward()
        self.opts[s].step()
        for t, v in zip(self.tasks, per.detach().tolist()):
            self._m[f"loss_{s}_{t}"] = float(v)
        self._m[f"loss_{s}"] = float(per.detach().mean())
        if s == STRATEGIES[-1]:
            self._m["task_step"] += 1

    @torch.no_grad()
    def evaluate(self, s: str, model: LeakyRNN | None = None, silenced: torch.Tensor | None = None
                 ) -> tuple[np.ndarray, torch.Tensor, torch.Tensor]:
        """Accuracy per task of strategy ``s`` (or of ``model``, a perturbed copy) on the fixed evaluation trials,
        without recurrent noise; also the outputs (G, B, T, 3) and states (G, B, T, N) per task."""
        model = self.models[s] if model is None else model
        model.eval()
        G = len(self.tasks)
        y, h = model(self._inputs(s, self.eval_batches), silenced=silenced)
        if s == "joint":
            y = y.reshape(G, -1, *y.shape[2:])
            h = h.reshape(G, -1, *h.shape[2:])
        acc = np.array([accuracy(y[i], b) for i, b in enumerate(self.eval_batches)], dtype=float)
        return acc, y, h

    def _eval_job(self, s: str) -> dict[str, Any]:
        acc, y, h = self.evaluate(s)
        self.acc[s] = acc
        self._outputs[s] = y[:, 0].numpy().astype(float)
        for t, a in zip(self.tasks, acc):
            self._m[f"acc_{s}_{t}"] = float(a)
        self._m[f"acc_{s}"] = float(acc.mean())
        self._m["evaluated"] += 1
        if s == "molap":
            self._molap_states = h[:, 0]
        if s != STRATEGIES[-1]:
            return {}
        return {"accuracy": {STRATEGY_LABELS[k]: v.copy() for k, v in self.acc.items()},
                "tasks": list(self.tasks), "examples": self._examples(), "activity": self._activity(),
                "w_rec_molap": self.models["molap"].recurrent_matrix(0).numpy().astype(float),
                "w_rec_joint": self.models["joint"].recurrent_matrix(0).numpy().astype(float)}

    def _examples(self) -> dict[str, Any]:
        """The first evaluation trial of each task: inputs, target, mask and every strategy's output."""
        return {"inputs": np.stack([b.inputs[0].numpy() for b in self.eval_batches]).astype(float),
                "targets": np.stack([b.targets[0].numpy() for b in self.eval_batches]).astype(float),
                "go": int(self.eval_batches[0].go[0]),
                "outputs": {STRATEGY_LABELS[s]: v for s, v in self._outputs.items()}}

    def _activity(self) -> dict[str, Any]:
        """MoLaP's states on the first evaluation trial of each task on the top two principal components of those
        states: ``trajectories`` (tasks, T, 2) and ``explained`` (2,)."""
        h = self._molap_states  # (G, T, N)
        G, T, N = h.shape
        pca = fit_pca(h.reshape(G * T, N))
        xy = pca.transform(h.reshape(G * T, N), 2).reshape(G, T, 2)
        return {"trajectories": np.asarray(xy, dtype=float),
                "explained": np.asarray(pca.explained_variance_ratio[:2], dtype=float),
                "module_activity": h.reshape(G, T, self.config.n_modules, -1).mean(-1).numpy().astype(float)}

    # ----------------------------------------------------------------------------------------------- stage 4

    def _perturb_job(self, kind: str, level: int, draw: int, s: str) -> dict[str, Any]:
        cfg = self.config
        mag = magnitudes(cfg, kind)[level]
        model = self.models[s]
        g = torch.Generator().manual_seed(_seed(cfg.seed, "perturb", kind, draw, s))
        if kind == "weight noise":
            acc, _, _ = self.evaluate(s, perturb_recurrence(model, mag, g))
        else:
            groups = model.n_groups if s == "separate" else 1  # a shared network loses the same units for all tasks
            mask = silence_units(model.n_units, mag, g, n_groups=groups)
            acc, _, _ = self.evaluate(s, silenced=mask if s == "separate" else mask[0])
        label = STRATEGY_LABELS[s]
        raw, base = float(acc.mean()), float(self.acc[s].mean())
        self._m["perturbations_done"] += 1
        return {"perturbation": {"kind": kind, "magnitude": mag, "level": level, "draw": draw, "strategy": label,
                                 "accuracy": raw, "normalised": raw / base if base > 0 else float("nan"),
                                 "unperturbed": base}}

    # ----------------------------------------------------------------------------------------------- loop

    @property
    def done(self) -> bool:
        """True after the last perturbation job."""
        return self.k >= self.total_steps

    def step(self) -> Record:
        """Run the next job and return its record."""
        job = self.jobs[self.k]
        stage, kind = job[0], job[1]
        art: dict[str, Any] = {}
        if kind == "corpus":
            art = self._corpus_job(job[2])
        elif kind == "teacher":
            self._teacher_job(job[2])
        elif kind == "pca":
            art = self._pca_job()
        elif kind == "pretrain":
            art = self._pretrain_job(job[2])
        elif kind == "train":
            self._train_job(job[2])
        elif kind == "eval":
            art = self._eval_job(job[2])
        else:
            art = self._perturb_job(*job[2:])
        self._stage_done[stage] += 1
        self._m["stage"] = float(stage)
        self._m["stage_progress"] = self._stage_done[stage] / self._stage_jobs[stage]
        if self.k == 0:
            art["formula"] = {STRATEGY_LABELS[s]: dict(self.formula[STRATEGY_LABELS[s]]) for s in STRATEGIES}
        rec = Record(self.k, {k: float(v) for k, v in self._m.items()}, art)
        self.k += 1
        return rec


def build(config: Config) -> MultitaskExperiment:
    """Build a ``multitask`` run from its config."""
    return MultitaskExperiment(config)
