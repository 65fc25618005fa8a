"""Paper specs: all that the registry, the dashboard, the CLI and the tests know about one paper, in one object.

Each paper package (``neurodyn/<key>/``) exports ``SPEC``, a frozen :class:`PaperSpec`. It names the paper (key,
arXiv id, title, one-line claim), its page (``pages/<key>.py``), its experiments (each an :class:`ExperimentSpec`
with its ``Config`` class, ``PRESETS``, ``build`` and declared :class:`Metric` names), its :class:`Claim` checks and
an optional warm-up. The registry (:mod:`neurodyn.core.registry`) discovers the specs; no other table lists papers.

A spec is checked when it is made: a missing field is a ``TypeError`` naming it (every field is keyword-only), and
a field of the wrong kind or an inconsistent spec (an experiment not prefixed by the key, a claim that judges an
experiment the paper does not have) is a :class:`SpecError` naming the paper and the field. See
``docs/adding-a-paper.md``.
"""

from __future__ import annotations

import math
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from neurodyn.core.config import ConfigError, apply_overrides, validate

__all__ = [
    "REPRODUCED", "NOT_REPRODUCED", "INCONCLUSIVE", "VERDICTS",
    "SpecError", "Metric", "ClaimResult", "Claim", "ExperimentSpec", "PaperSpec", "judge",
]

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)


class SpecError(ValueError):
    """A paper spec is incomplete or inconsistent; the message names the paper and the field."""


@dataclass(frozen=True)
class Metric:
    """One scalar an experiment logs every step.

    Parameters
    ----------
    name : str
        Key in ``Record.metrics``.
    unit : str
        Unit in words or symbols ("nats", "s", "steps"); "" for a pure number (accuracy, ratio, count).
    label : str
        What a chart calls it; default ``name`` with spaces.
    """

    name: str
    unit: str = ""
    label: str = ""

    @property
    def title(self) -> str:
        """Label with its unit, for an axis title: ``"validation loss (nats)"``."""
        text = self.label or self.name.replace("_", " ")
        return f"{text} ({self.unit})" if self.unit else text


@dataclass(frozen=True)
class ClaimResult:
    """The verdict of one claim check on one run.

    Parameters
    ----------
    verdict : {"reproduced", "not reproduced", "inconclusive"}
    measured : float or None
        The value measured on the run (None when there is nothing to measure yet).
    threshold : str
        The rule the value is held to, in words or symbols ("< 1e-4", ">= 0.15 above the LSTM").
    detail : str
        One sentence: what was measured, on how many seeds or steps, and why the verdict.
    """

    verdict: str
    measured: float | None
    threshold: str
    detail: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if self.measured is not None:
            object.__setattr__(self, "measured", float(self.measured))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (a non-finite measured value becomes None)."""
        m = self.measured
        return {"verdict": self.verdict, "measured": m if m is None or math.isfinite(m) else None,
                "threshold": self.threshold, "detail": self.detail}


def judge(value: float | None, ok: bool | None, threshold: str, detail: str = "") -> ClaimResult:
    """Build a :class:`ClaimResult` from a measured value and a pass test.

    Parameters
    ----------
    value : float or None
        The measured value; None or NaN gives *inconclusive*.
    ok : bool or None
        Whether the value meets the threshold; None gives *inconclusive* (e.g. too few steps yet).
    threshold : str
    detail : str

    Returns
    -------
    ClaimResult

    Examples
    --------
    >>> judge(0.91, 0.91 >= 0.8, ">= 0.80").verdict
    'reproduced'
    >>> judge(None, None, ">= 0.80", "no evaluation yet").verdict
    'inconclusive'
    """
    if value is None or ok is None or (isinstance(value, float) and math.isnan(value)):
        return ClaimResult(INCONCLUSIVE, value, threshold, detail)
    return ClaimResult(REPRODUCED if ok else NOT_REPRODUCED, value, threshold, detail)


ClaimRule = Callable[[Sequence[Any], Any], ClaimResult]


@dataclass(frozen=True, kw_only=True)
class Claim:
    """One checkable claim of a paper, judged on the records of one run.

    Parameters
    ----------
    key : str
        Short id, unique within the paper (``"rate"``).
    text : str
        The claim in words, as the page shows it.
    source : str
        Where the claim and its number come from, with the source tag of ``PAPER-NUMBERS``: ``"[T] closed form"``,
        ``"[A] abstract"``, ``"[R] authors' repository, Lyapunov.py"``, ``"[D] derived by us from the authors' data"``.
    paper_value : str or None
        The paper's own number, only where the paper or its repository prints one; None otherwise (numbers read
        off a figure or derived by us are never shown as the paper's).
    experiment : str
        Name of the experiment whose records the rule reads.
    rule : callable
        ``rule(records, config) -> ClaimResult``; pure, cheap (it runs on every redraw), never raises on a run
        that is still going (it returns *inconclusive* instead).
    """

    key: str
    text: str
    source: str
    paper_value: str | None
    experiment: str
    rule: ClaimRule

    def evaluate(self, records: Sequence[Any], config: Any) -> ClaimResult:
        """Run the rule; no records, or a rule that raises, gives *inconclusive* with the reason.

        Parameters
        ----------
        records : sequence of Record
        config : the run's config

        Returns
        -------
        ClaimResult
        """
        if not records:
            return ClaimResult(INCONCLUSIVE, None, "", "no records yet")
        try:
            out = self.rule(records, config)
        except Exception as exc:  # a check must never take a page or a run record down
            tb = traceback.extract_tb(exc.__traceback__)[-1]
            return ClaimResult(INCONCLUSIVE, None, "", f"the check could not be evaluated: {type(exc).__name__}: "
                               f"{exc} ({tb.name}, line {tb.lineno})")
        if not isinstance(out, ClaimResult):
            return ClaimResult(INCONCLUSIVE, None, "", f"the check returned {type(out).__name__}, not ClaimResult")
        return out

    def to_json(self, records: Sequence[Any], config: Any) -> dict[str, Any]:
        """The claim and its verdict on ``records`` as a JSON-ready dict (what a run record carries)."""
        return {"key": self.key, "claim": self.text, "source": self.source, "paper_value": self.paper_value,
                **self.evaluate(records, config).to_json()}


MetricsDecl = Sequence[Metric] | Callable[[Any], Sequence[Metric]]


@dataclass(frozen=True, kw_only=True)
class ExperimentSpec:
    """One experiment of a paper.

    Parameters
    ----------
    name : str
        Registered name: the paper's key, or ``<key>_<what>`` where a paper has several.
    title : str
        Title in words (the page title of the paper's main experiment).
    config_cls : type
        The frozen ``Config`` dataclass.
    presets : mapping of str to Config
        At least ``"small"`` (under 60 s on 2 CPU cores) and ``"paper"`` (the paper's settings).
    build : callable
        ``build(config) -> Experiment``; picklable (a module-level function or class) so workers can call it.
    metrics : sequence of Metric, or callable
        The metric names every record carries (the same every step), or ``metrics(config) -> [Metric, ...]`` when
        they depend on the config (e.g. one per enabled method).
    paper : str
        The paper's key; filled in by :class:`PaperSpec`.
    """

    name: str
    title: str
    config_cls: type
    presets: Mapping[str, Any]
    build: Callable[[Any], Any]
    metrics: MetricsDecl
    paper: str = ""

    def config(self, preset: str = "small", overrides: Mapping[str, Any] | None = None) -> Any:
        """Return the preset's config with ``overrides`` applied and validated.

        Parameters
        ----------
        preset : str, default "small"
        overrides : mapping, optional
            Field values (Python values or text forms).

        Returns
        -------
        The experiment's frozen config.
        """
        if preset not in self.presets:
            raise ConfigError(
                f"unknown preset {preset!r} for experiment {self.name!r}; valid presets: {', '.join(self.presets)}"
            )
        cfg = self.presets[preset]
        return apply_overrides(cfg, dict(overrides)) if overrides else validate(cfg)

    def declared_metrics(self, config: Any) -> tuple[Metric, ...]:
        """The metrics a run with ``config`` logs (see ``metrics``).

        Parameters
        ----------
        config : Config

        Returns
        -------
        tuple of Metric
        """
        decl = self.metrics(config) if callable(self.metrics) else self.metrics
        return tuple(decl)

    def metric(self, config: Any, name: str) -> Metric:
        """The declaration of metric ``name`` (KeyError, listing the declared names, if there is none)."""
        for m in self.declared_metrics(config):
            if m.name == name:
                return m
        raise KeyError(f"{self.name} declares no metric {name!r}; declared: "
                       f"{', '.join(m.name for m in self.declared_metrics(config))}")


def _need(cond: bool, key: str, field_name: str, what: str) -> None:
    if not cond:
        raise SpecError(f"paper {key!r}: field {field_name!r} {what}")


@dataclass(frozen=True, kw_only=True)
class PaperSpec:
    """Everything neurodyn knows about one paper (exported as ``SPEC`` by the paper's package).

    Parameters
    ----------
    key : str
        The paper's one name: its package ``neurodyn/<key>``, page ``pages/<key>.py``, doc ``docs/papers/<key>.md``,
        tests ``tests/<key>/`` and experiment names.
    arxiv : str
        arXiv id, e.g. ``"2010.13846"``.
    title : str
        The paper's title.
    claim : str
        Its central claim in one sentence.
    short : str
        Navigation label in words.
    icon : str
        One emoji.
    experiments : tuple of ExperimentSpec
        The first is the page's main experiment.
    claims : tuple of Claim
        The paper's checkable claims (at least one).
    warmup : callable, optional
        ``warmup()``: a one-off cost (imports, data, JIT) paid at server and worker start-up; safe to call twice.
    """

    key: str
    arxiv: str
    title: str
    claim: str
    short: str
    icon: str
    experiments: tuple[ExperimentSpec, ...]
    claims: tuple[Claim, ...]
    warmup: Callable[[], Any] | None = None
    page: str = field(init=False)
    doc: str = field(init=False)

    def __post_init__(self) -> None:
        k = self.key
        _need(isinstance(k, str) and k.isidentifier() and k.islower(), repr(k), "key",
              "must be a lower-case Python identifier (it names the package, page, doc and tests folder)")
        for name in ("arxiv", "title", "claim", "short", "icon"):
            _need(isinstance(getattr(self, name), str) and getattr(self, name).strip(), k, name,
                  "must be a non-empty string")
        _need(self.arxiv.count(".") == 1, k, "arxiv", f"must look like '2010.13846', got {self.arxiv!r}")
        exps, claims = tuple(self.experiments), tuple(self.claims)
        _need(len(exps) > 0 and all(isinstance(e, ExperimentSpec) for e in exps), k, "experiments",
              "must be a non-empty tuple of ExperimentSpec")
        _need(len(claims) > 0 and all(isinstance(c, Claim) for c in claims), k, "claims",
              "must be a non-empty tuple of Claim")
        _need(self.warmup is None or callable(self.warmup), k, "warmup", "must be callable or None")
        names = [e.name for e in exps]
        _need(len(set(names)) == len(names), k, "experiments", f"has duplicate names: {names}")
        for e in exps:
            _need(e.name == k or e.name.startswith(k + "_"), k, "experiments",
                  f"has {e.name!r}: experiment names are the key or start with '{k}_'")
            for f in ("title",):
                _need(isinstance(getattr(e, f), str) and getattr(e, f).strip(), k, f"experiments[{e.name}].{f}",
                      "must be a non-empty string")
            _need(callable(e.build), k, f"experiments[{e.name}].build", "must be callable")
            _need(isinstance(e.config_cls, type), k, f"experiments[{e.name}].config_cls", "must be a class")
            _need("small" in e.presets, k, f"experiments[{e.name}].presets", "must define 'small'")
            _need(callable(e.metrics) or (len(e.metrics) > 0 and all(isinstance(m, Metric) for m in e.metrics)),
                  k, f"experiments[{e.name}].metrics", "must be a non-empty sequence of Metric or a callable")
        keys = [c.key for c in claims]
        _need(len(set(keys)) == len(keys), k, "claims", f"has duplicate keys: {keys}")
        for c in claims:
            _need(c.experiment in names, k, f"claims[{c.key}].experiment",
                  f"names {c.experiment!r}, which is not one of this paper's experiments {names}")
            _need(callable(c.rule), k, f"claims[{c.key}].rule", "must be callable")
            for f in ("text", "source"):
                _need(isinstance(getattr(c, f), str) and getattr(c, f).strip(), k, f"claims[{c.key}].{f}",
                      "must be a non-empty string")
        object.__setattr__(self, "experiments", tuple(ExperimentSpec(**{**e.__dict__, "paper": k}) for e in exps))
        object.__setattr__(self, "claims", claims)
        object.__setattr__(self, "page", f"{k}.py")
        object.__setattr__(self, "doc", f"docs/papers/{k}.md")

    def experiment(self, name: str) -> ExperimentSpec:
        """The experiment called ``name`` (KeyError if the paper has none)."""
        for e in self.experiments:
            if e.name == name:
                return e
        raise KeyError(f"paper {self.key!r} has no experiment {name!r}; it has {[e.name for e in self.experiments]}")

    def claims_for(self, experiment: str) -> tuple[Claim, ...]:
        """The claims judged on the records of ``experiment``."""
        return tuple(c for c in self.claims if c.experiment == experiment)

    @property
    def url(self) -> str:
        """The paper's arXiv page."""
        return f"https://arxiv.org/abs/{self.arxiv}"
