"""Experiment ``attention``: Comp(S, R) and MHA(H) trained side by side on contextual retrieval.

Compositional attention, arXiv:2110.09419; the project's account is ``docs/papers/attention.md`` (§3 the task, §4
this experiment). Both toy models are "encoder MLP (in -> D -> ReLU -> D), one attention block, decoder MLP
(D -> D -> ReLU -> 1)", with biases everywhere, no residual, no LayerNorm, no positional encoding, and the
diagonal of the search scores masked (a token cannot find itself), as in the reference toy code. They see
the same batches (fresh every optimizer step) and are evaluated on one fixed held-out batch.

Deviations from the reference toy code, all exact reparametrisations or bookkeeping (``docs/papers/attention.md §5``):

* ``concat`` (the reference's ``--concat``: Wo applied to [concat_i O_i ; Linear(D, d_v)(h)]) is written
  as ``attention(h) + W_c Linear(D, d_v)(h)`` with W_c of size d_v x D and no bias. This is the same
  function class and the same parameter count (Wo's extra columns are W_c).
* Parameters are initialised from the config seed with PyTorch's default Linear distribution
  U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn from an explicit generator.
* One ``step()`` is ``steps_per_record`` optimizer steps followed by an evaluation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor, nn

from neurodyn.attention.compositional import CompositionalAttention, MultiHeadAttention
from neurodyn.attention.tasks import (
    ContextualRetrievalBatch,
    contextual_retrieval_batch,
    input_width,
    ood_split,
)
from neurodyn.core.config import param
from neurodyn.core.loop import Record
from neurodyn.core.seeding import derive_seed, resolve_device, torch_generator
from neurodyn.core.spec import Metric

__all__ = [
    "Config",
    "PRESETS",
    "METRICS",
    "LOSS_SERIES",
    "SPECIALISATION_SERIES",
    "ToyModel",
    "AttentionExperiment",
    "build",
    "build_models",
    "head_widths",
    "attention_weight_count",
    "selection_accuracy",
    "search_alignment",
    "confusion_counts",
    "held_out_batch",
    "ground_truth_rows",
    "ZERO_PREDICTOR_L1",
    "SPECIALISED_SELECTION",
    "SPECIALISED_SHARPNESS",
]

ZERO_PREDICTOR_L1 = 0.764  # E|y| of the zero predictor, N = 10, s_gt = r_gt = 2, with coefficients (attention.md §3)
EVAL_SEED = 20_481  # the held-out batch is the same for every run seed, so runs are comparable
SPECIALISED_SELECTION = 0.95  # "selection accuracy near 1.0": the project's threshold (attention.md §8)
SPECIALISED_SHARPNESS = 0.90  # "near one-hot scores": mean max_j c_ij (attention.md §4)


@dataclass(frozen=True)
class Config:
    """Settings of one side-by-side run (``docs/papers/attention.md §4``)."""

    n_search_gt: int = param(2, min=1, max=3, label="searches the task needs (s_gt)",
                             help="ground-truth searches s_gt: search features each token's target combines")
    n_retrieval_gt: int = param(2, min=2, max=4, label="retrieval features in the task (r_gt)",
                                help="ground-truth retrieval features r_gt; a token's task picks one per search")
    n_tokens: int = param(10, min=4, max=20, label="tokens per sequence (N)", help="tokens per sequence N")
    d_model: int = param(32, min=16, max=64, step=16, label="model width (D)", help="model width D of both models")
    n_searches: int = param(2, min=1, max=4, label="Comp: searches (S)",
                            help="searches S of the compositional model")
    n_retrievals: int = param(2, min=1, max=8, label="Comp: retrievals (R)",
                              help="retrievals R of the compositional model")
    n_heads: int = param(2, min=1, max=8, label="MHA: heads (H)", help="heads H of the multi-head baseline")
    concat: bool = param(True, label="add each token's own embedding (paper's setting)",
                         help="append the token's own embedding before Wo, the reference's --concat")
    coefficients: bool = param(True, label="weight the searches by fixed coefficients",
                               help="weight the searches by c_g (off: every c_g = 1, the reference's --no-coeff)")
    ood: bool = param(False, label="hold out task combinations (out of distribution)",
                      help="train on some task combinations, evaluate on the held-out ones")
    identity_pairing: bool = param(False, label="fix the pairing to the identity (Comp = MHA)",
                                   help="fix c to the identity (needs S = R): Comp becomes MHA exactly")
    lr: float = param(3e-3, min=1e-5, max=3e-2, log=True, label="Adam step size", help="Adam step size")
    batch_size: int = param(256, min=16, max=1024, label="sequences per optimizer step",
                            help="sequences per optimizer step")
    n_steps: int = param(1000, min=10, max=100_000, label="optimizer steps", help="optimizer steps of one run")
    steps_per_record: int = param(5, min=1, max=200, label="optimizer steps per record",
                                  help="optimizer steps per record (the progress bar counts records)")
    eval_every: int = param(2, min=1, max=1000, label="records between evaluations",
                            help="records between two evaluations on the held-out batch")
    artifact_every: int = param(10, min=1, max=1000, label="records between map snapshots",
                                help="records between two snapshots of the maps")
    eval_size: int = param(2048, min=64, max=8192, label="held-out sequences",
                           help="sequences in the fixed held-out batch")
    seed: int = param(0, min=0, max=2**31 - 1, label="seed", help="random seed (models and training data)")
    device: str = param("auto", choices=("auto", "cpu", "cuda"), label="device", help="torch device")

    def __post_init__(self) -> None:
        if self.identity_pairing and self.n_searches != self.n_retrievals:
            raise ValueError(
                f"identity_pairing needs n_searches == n_retrievals, got {self.n_searches} and {self.n_retrievals}"
            )
        if self.ood:
            ood_split(self.n_search_gt, self.n_retrieval_gt)  # raises when no combination is left out


PRESETS: dict[str, Config] = {
    # attention.md §7: the small preset
    "small": Config(),
    # D = 64 (attention.md §7)
    "talk": Config(d_model=64, n_steps=1000, seed=1),
    # reference run.sh example: Compositional-dot 10 64 64 64 2 2 4 4 1 --concat, Adam 1e-4, 100k iterations
    "paper": Config(n_retrieval_gt=4, d_model=64, n_searches=2, n_retrievals=4, n_heads=2, lr=1e-4,
                    n_steps=100_000, steps_per_record=10, eval_every=20, artifact_every=100, seed=1),
}

#: Train and held-out L1 of both models: metric name -> (model, split), as the loss figure draws them.
LOSS_SERIES: dict[str, tuple[str, str]] = {
    "comp_train_l1": ("Comp", "train"), "comp_eval_l1": ("Comp", "held-out"),
    "mha_train_l1": ("MHA", "train"), "mha_eval_l1": ("MHA", "held-out"),
}
#: The specialisation measures the specialisation figure draws (all in [0, 1]).
SPECIALISATION_SERIES: tuple[str, ...] = ("value_sharpness", "selection_accuracy", "search_alignment",
                                          "mha_search_alignment")

#: Declared metrics: every record carries exactly these (held-out ones are carried between evaluations).
METRICS: tuple[Metric, ...] = (
    Metric("comp_train_l1", "", "Comp: training L1"),
    Metric("mha_train_l1", "", "MHA: training L1"),
    Metric("comp_eval_l1", "", "Comp: held-out L1"),
    Metric("mha_eval_l1", "", "MHA: held-out L1"),
    Metric("zero_l1", "", "held-out L1 of always predicting 0"),
    Metric("value_sharpness", "", "Comp: mean max c"),
    Metric("selection_accuracy", "", "Comp: selection accuracy"),
    Metric("search_alignment", "", "Comp: search alignment"),
    Metric("mha_search_alignment", "", "MHA: search alignment"),
    Metric("comp_attention_weights", "", "Comp: attention weights (no biases)"),
    Metric("mha_attention_weights", "", "MHA: attention weights (no biases)"),
    Metric("done", "", "run finished (1) or not (0)"),
)


# ----------------------------------------------------------------------------- model


def _init_linear_(module: nn.Module, generator: torch.Generator) -> None:
    """PyTorch's default Linear init U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn from ``generator``."""
    for lin in module.modules():
        if isinstance(lin, nn.Linear):
            bound = 1.0 / math.sqrt(lin.in_features)
            with torch.no_grad():
                lin.weight.copy_((torch.rand(lin.weight.shape, generator=generator) * 2 - 1) * bound)
                if lin.bias is not None:
                    lin.bias.copy_((torch.rand(lin.bias.shape, generator=generator) * 2 - 1) * bound)


class ToyModel(nn.Module):
    """Encoder MLP, one attention block (with the optional own-token concat), decoder MLP.

    Parameters
    ----------
    d_in : int
        Input width s_gt + r_gt + s_gt r_gt.
    attention : CompositionalAttention or MultiHeadAttention
        The block; it must have ``d_value``.
    concat : bool
        Add ``W_c Linear(D, d_v)(h)`` (the reference's ``--concat``; see the module docstring).
    """

    def __init__(self, d_in: int, attention: nn.Module, concat: bool) -> None:
        super().__init__()
        D = attention.d_model
        self.encoder = nn.Sequential(nn.Linear(d_in, D), nn.ReLU(), nn.Linear(D, D))
        self.attention = attention
        dv = attention.d_value
        self.own = nn.Sequential(nn.Linear(D, dv), nn.Linear(dv, D, bias=False)) if concat else None
        self.decoder = nn.Sequential(nn.Linear(D, D), nn.ReLU(), nn.Linear(D, 1))

    def forward(
        self, x: Tensor, attn_mask: Tensor, return_attention: bool = False
    ) -> Tensor | tuple[Tensor, dict[str, Tensor]]:
        """Predict the target of every token.

        Parameters
        ----------
        x : Tensor, shape (B, N, d_in)
        attn_mask : BoolTensor, shape (N, N)
            True where a token may attend.
        return_attention : bool
            Also return the attention block's maps.

        Returns
        -------
        Tensor of shape (B, N), or ``(prediction, maps)`` when ``return_attention``.
        """
        h = self.encoder(x)  # (B, N, D)
        res = self.attention(h, attn_mask, return_attention=return_attention)
        a, maps = res if return_attention else (res, None)
        if self.own is not None:
            a = a + self.own(h)
        y = self.decoder(a).squeeze(-1)  # (B, N)
        return (y, maps) if return_attention else y


def head_widths(config: Config) -> dict[str, int]:
    """Head widths of the two models, as in the reference toy code (``docs/papers/attention.md §4``).

    Parameters
    ----------
    config : Config

    Returns
    -------
    dict
        ``d_k = D // S``, ``d_v = D // R``, ``d_r = d_k`` of the compositional model and ``d_h = D // H``, the
        query/key and value width of each MHA head.
    """
    D = config.d_model
    return {"d_k": D // config.n_searches, "d_v": D // config.n_retrievals, "d_r": D // config.n_searches,
            "d_h": D // config.n_heads}


def attention_weight_count(model: ToyModel) -> int:
    """Number of weights (biases excluded) of a toy model's attention block: what the count formulas of
    ``docs/papers/attention.md §2`` count.

    Parameters
    ----------
    model : ToyModel

    Returns
    -------
    int
    """
    return sum(p.numel() for name, p in model.attention.named_parameters() if name.endswith("weight"))


def build_models(config: Config, device: torch.device | str = "cpu") -> tuple[ToyModel, ToyModel]:
    """The compositional and the multi-head toy models of ``config``, initialised from its seed.

    Head widths: :func:`head_widths`.

    Parameters
    ----------
    config : Config
    device : torch.device or str

    Returns
    -------
    (ToyModel, ToyModel)
        Comp(S, R) and MHA(H).
    """
    D, S, R, H = config.d_model, config.n_searches, config.n_retrievals, config.n_heads
    w = head_widths(config)
    d_in = input_width(config.n_search_gt, config.n_retrieval_gt)
    with torch.device("meta"):  # no global RNG is read; parameters are filled below
        comp = ToyModel(d_in, CompositionalAttention(
            D, S, R, d_search=w["d_k"], d_value=w["d_v"], d_retrieval=w["d_r"], bias=True,
            pairing="identity" if config.identity_pairing else "learned"), config.concat)
        mha = ToyModel(d_in, MultiHeadAttention(D, H, d_search=w["d_h"], d_value=w["d_h"], bias=True), config.concat)
    comp, mha = comp.to_empty(device="cpu"), mha.to_empty(device="cpu")
    _init_linear_(comp, torch_generator(derive_seed(config.seed, "comp")))
    _init_linear_(mha, torch_generator(derive_seed(config.seed, "mha")))
    return comp.to(device), mha.to(device)


# ----------------------------------------------------------------------------- measures


def confusion_counts(c: Tensor, tasks: Tensor) -> np.ndarray:
    """Counts of (argmax_j c_ij, t_g) per model search i and GT search g.

    Parameters
    ----------
    c : Tensor, shape (B, N, S, R)
    tasks : LongTensor, shape (B, N, s_gt)

    Returns
    -------
    ndarray of int, shape (S, s_gt, R, r_gt), with r_gt = ``tasks.max() + 1`` at least the task range seen.
    """
    B, N, S, R = c.shape
    s_gt = tasks.shape[-1]
    r_gt = int(tasks.max().item()) + 1
    pred = c.argmax(-1).unsqueeze(-1)  # (B, N, S, 1)
    t = tasks.unsqueeze(-2)  # (B, N, 1, s_gt)
    i = torch.arange(S, device=c.device).view(S, 1)
    g = torch.arange(s_gt, device=c.device).view(1, s_gt)
    flat = ((i * s_gt + g) * R + pred) * r_gt + t  # (B, N, S, s_gt)
    counts = torch.bincount(flat.reshape(-1), minlength=S * s_gt * R * r_gt)
    return counts.view(S, s_gt, R, r_gt).cpu().numpy()


def _best_matching(conf: np.ndarray) -> float:
    """Fraction of counts on the best map from model retrievals (rows) to GT retrievals (columns).

    Injective when R <= r_gt (an assignment); with more model retrievals than GT ones each row takes its
    best column (several model retrievals may stand for one GT feature).
    """
    total = conf.sum()
    if total == 0:
        return 0.0
    if conf.shape[0] <= conf.shape[1]:
        rows, cols = linear_sum_assignment(conf, maximize=True)
        return float(conf[rows, cols].sum() / total)
    return float(conf.max(axis=1).sum() / total)


def selection_accuracy(confusion: np.ndarray, n_retrieval_gt: int | None = None) -> float:
    """Selection accuracy after matching permutations (``docs/papers/attention.md §4``).

    For each GT search g: the max over model searches i and over maps from model retrievals to GT
    retrievals of the fraction of tokens where argmax_j c_ij maps to t_g; then the mean over g.

    Parameters
    ----------
    confusion : ndarray, shape (S, s_gt, R, r)
        From :func:`confusion_counts`.
    n_retrieval_gt : int, optional
        Pad the GT axis to r_gt columns (when a batch does not show every task).
    """
    conf = confusion
    if n_retrieval_gt is not None and conf.shape[-1] < n_retrieval_gt:
        pad = n_retrieval_gt - conf.shape[-1]
        conf = np.concatenate([conf, np.zeros(conf.shape[:-1] + (pad,), conf.dtype)], axis=-1)
    S, s_gt = conf.shape[:2]
    per = np.array([[_best_matching(conf[i, g]) for g in range(s_gt)] for i in range(S)])  # (S, s_gt)
    return float(per.max(axis=0).mean())


def search_alignment(attn: Tensor, neighbours: Tensor) -> float:
    """How often argmax_m A_i[n, m] is the GT neighbour j_{n,g}, for the best model search i per g, mean over g.

    Parameters
    ----------
    attn : Tensor, shape (B, S, N, N)
    neighbours : LongTensor, shape (B, N, s_gt)
    """
    pick = attn.argmax(-1)  # (B, S, N)
    hits = pick.unsqueeze(-1) == neighbours.unsqueeze(1)  # (B, S, N, s_gt)
    rate = hits.float().mean(dim=(0, 2))  # (S, s_gt)
    return float(rate.max(dim=0).values.mean().item())


def held_out_batch(config: Config) -> ContextualRetrievalBatch:
    """The fixed held-out batch every run of ``config`` is evaluated on (seeded by ``EVAL_SEED``, on CPU).

    With ``ood=True`` it holds only the (search, retrieval) combinations left out of training.
    """
    cfg = config
    test_combos = ood_split(cfg.n_search_gt, cfg.n_retrieval_gt)[1] if cfg.ood else None
    return contextual_retrieval_batch(
        cfg.eval_size, cfg.n_tokens, cfg.n_search_gt, cfg.n_retrieval_gt, generator=torch_generator(EVAL_SEED),
        coefficients=cfg.coefficients, combinations=test_combos)


def ground_truth_rows(tasks: Tensor | np.ndarray, n_retrieval_gt: int) -> np.ndarray:
    """One-hot rows of the true task per token: ``tasks`` (s_gt, N) -> (s_gt * r_gt, N), row ``g * r_gt + t``."""
    t = torch.as_tensor(np.asarray(tasks), dtype=torch.long)  # (s_gt, N)
    onehot = torch.nn.functional.one_hot(t, n_retrieval_gt)  # (s_gt, N, r_gt)
    return onehot.permute(0, 2, 1).reshape(-1, t.shape[1]).to(torch.float64).numpy()


# ----------------------------------------------------------------------------- experiment


class AttentionExperiment:
    """Comp(S, R) and MHA(H) trained side by side on the same contextual-retrieval batches.

    Every ``step()`` takes ``steps_per_record`` Adam steps on both models; every ``eval_every`` records (and
    whenever maps are snapshot) both are evaluated on the fixed held-out batch, and the held-out metrics are
    carried unchanged in between. Metrics (every record): ``comp_train_l1``, ``mha_train_l1``, ``comp_eval_l1``,
    ``mha_eval_l1``, ``zero_l1`` (mean |y| of the held-out batch), ``value_sharpness`` (mean max_j c_ij),
    ``selection_accuracy``, ``search_alignment``, ``mha_search_alignment``, ``comp_attention_weights`` and
    ``mha_attention_weights`` (the weight counts of the two attention blocks, constant), ``done``
    (:data:`METRICS`). Artifacts (every
    ``artifact_every`` records and at the end), all for sample 0 of the held-out batch unless noted:

    - ``value_scores`` (S*R + s_gt*r_gt, N): rows c_ij ("search i / value j", i-major), then the GT task one-hot
      rows (g-major); tokens as columns.
    - ``confusion`` (S, s_gt, R, r_gt): argmax_j c_ij against t_g over the held-out batch.
    - ``search_maps`` (S, N, N), ``mha_search_maps`` (H, N, N), ``neighbours`` (s_gt, N), ``tasks`` (s_gt, N).
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.device = resolve_device(config.device)
        cfg = config
        self.total_steps = math.ceil(cfg.n_steps / cfg.steps_per_record)
        self._records = 0
        self._opt_steps = 0
        self._eval: dict[str, float] | None = None  # latest held-out metrics, carried between evaluations
        self.comp, self.mha = build_models(cfg, self.device)
        self.opt_comp = torch.optim.Adam(self.comp.parameters(), lr=cfg.lr)
        self.opt_mha = torch.optim.Adam(self.mha.parameters(), lr=cfg.lr)
        self._train_combos = ood_split(cfg.n_search_gt, cfg.n_retrieval_gt)[0] if cfg.ood else None
        self._data_gen = torch_generator(derive_seed(cfg.seed, "data"), self.device)
        self.eval_batch = self._to_device(held_out_batch(cfg))
        self.mask = ~torch.eye(cfg.n_tokens, dtype=torch.bool, device=self.device)  # True = may attend
        self.zero_l1 = float(self.eval_batch.y.abs().mean().item())
        self.weights = {"comp_attention_weights": float(attention_weight_count(self.comp)),
                        "mha_attention_weights": float(attention_weight_count(self.mha))}

    def _to_device(self, b: ContextualRetrievalBatch) -> ContextualRetrievalBatch:
        fields = ("x", "y", "features", "tasks", "neighbours")
        return ContextualRetrievalBatch(*(getattr(b, f).to(self.device) for f in fields))

    @property
    def done(self) -> bool:
        """True after ``n_steps`` optimizer steps."""
        return self._records >= self.total_steps

    def _train(self, n: int) -> tuple[float, float]:
        cfg = self.config
        loss_c = loss_m = 0.0
        self.comp.train()
        self.mha.train()
        for _ in range(n):
            b = contextual_retrieval_batch(
                cfg.batch_size, cfg.n_tokens, cfg.n_search_gt, cfg.n_retrieval_gt, generator=self._data_gen,
                coefficients=cfg.coefficients, combinations=self._train_combos, device=self.device)
            for model, opt in ((self.comp, self.opt_comp), (self.mha, self.opt_mha)):
                opt.zero_grad(set_to_none=True)
                loss = (model(b.x, self.mask) - b.y).abs().mean()
                loss.backward()
                opt.step()
                if model is self.comp:
                    loss_c += loss.item()
                else:
                    loss_m += loss.item()
        return loss_c / n, loss_m / n

    def step(self) -> Record:
        """Take ``steps_per_record`` optimizer steps on both models (evaluating as configured); return the record."""
        if self.done:
            raise RuntimeError("the experiment is done; build a new one to train again")
        cfg = self.config
        n = min(cfg.steps_per_record, cfg.n_steps - self._opt_steps)
        train_c, train_m = self._train(n)
        self._opt_steps += n
        self._records += 1
        snapshot = self._records % cfg.artifact_every == 0 or self._records == 1 or self.done
        if snapshot or self._eval is None or self._records % cfg.eval_every == 0:
            self._eval, artifacts = self._evaluate(snapshot)
        else:
            artifacts = {}
        metrics = {"comp_train_l1": float(train_c), "mha_train_l1": float(train_m), **self._eval,
                   **self.weights, "done": float(self.done)}
        return Record(step=self._opt_steps, metrics=metrics, artifacts=artifacts)

    def _evaluate(self, snapshot: bool) -> tuple[dict[str, float], dict[str, np.ndarray]]:
        cfg = self.config
        ev = self.eval_batch
        self.comp.eval()
        self.mha.eval()
        with torch.no_grad():
            yc, maps_c = self.comp(ev.x, self.mask, return_attention=True)
            ym, maps_m = self.mha(ev.x, self.mask, return_attention=True)
        c, attn, attn_m = maps_c["c"], maps_c["A"], maps_m["A"]
        conf = confusion_counts(c, ev.tasks)
        metrics = {
            "comp_eval_l1": float((yc - ev.y).abs().mean().item()),
            "mha_eval_l1": float((ym - ev.y).abs().mean().item()),
            "zero_l1": self.zero_l1,
            "value_sharpness": float(c.max(-1).values.mean().item()),
            "selection_accuracy": selection_accuracy(conf, cfg.n_retrieval_gt),
            "search_alignment": search_alignment(attn, ev.neighbours),
            "mha_search_alignment": search_alignment(attn_m, ev.neighbours),
        }
        return metrics, (self._artifacts(c, attn, attn_m, conf) if snapshot else {})

    def _artifacts(self, c: Tensor, attn: Tensor, attn_m: Tensor, conf: np.ndarray) -> dict[str, np.ndarray]:
        cfg = self.config
        ev = self.eval_batch
        S, R, s_gt, r_gt, N = cfg.n_searches, cfg.n_retrievals, cfg.n_search_gt, cfg.n_retrieval_gt, cfg.n_tokens
        scores = c[0].permute(1, 2, 0).reshape(S * R, N)  # (N, S, R) -> (S*R, N), row i*R + j
        gt = torch.nn.functional.one_hot(ev.tasks[0], r_gt).permute(1, 2, 0).reshape(s_gt * r_gt, N)  # row g*r + t
        full = np.zeros((S, s_gt, R, r_gt), dtype=np.int64)
        full[..., : conf.shape[-1]] = conf
        return {
            "value_scores": torch.cat([scores, gt.to(scores.dtype)]).cpu().numpy(),
            "confusion": full,
            "search_maps": attn[0].cpu().numpy(),
            "mha_search_maps": attn_m[0].cpu().numpy(),
            "neighbours": ev.neighbours[0].T.cpu().numpy(),
            "tasks": ev.tasks[0].T.cpu().numpy(),
        }


def build(config: Config) -> AttentionExperiment:
    """Build the side-by-side run of ``config``.

    Parameters
    ----------
    config : Config

    Returns
    -------
    AttentionExperiment
    """
    return AttentionExperiment(config)
