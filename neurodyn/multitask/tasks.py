"""The nine cognitive tasks of the modular-latent-primitives paper as one seeded, vectorised trial generator
(``docs/papers/multitask.md`` §2 for the tasks, §6 for the checks).

Continuous format (card §2.1): 5 inputs ``[fixation, cos th s, sin th s (modality 1), cos th s, sin th s
(modality 2)]`` and 3 outputs ``[fixation, cos th_resp, sin th_resp]``. The fixation input is 1 until the go cue and 0
from it on; the target fixation output is 1 before go and 0 after; the response target is the (cos, sin) of the correct
angle from go on and 0 before it.

Trial structure per task (durations in steps of 50 ms, drawn per trial from :class:`Timing`, inclusive ranges):

* ``DelayPro`` / ``DelayAnti``: fixation -> stimulus -> delay -> response; the stimulus (one random modality) comes
  on at the start of the stimulus period and stays on through the delay and the response. Answer: the stimulus angle
  (Pro) or the angle + pi (Anti).
* ``MemoryPro`` / ``MemoryAnti``: fixation -> stimulus -> delay (no stimulus) -> response (no stimulus). Answer as
  above, from memory.
* ``MemoryDm1`` / ``MemoryDm2``: fixation -> stimulus A -> delay -> stimulus B -> post-delay -> response, both stimuli
  in modality 1 (2). Answer: the angle of the stronger stimulus.
* ``ContextMemoryDm1`` / ``ContextMemoryDm2``: as the memory DM tasks, but A and B are shown in both modalities with
  independent strengths; the answer is the stronger stimulus in modality 1 (2), the other modality is ignored.
* ``MultiMemoryDm``: as the context tasks; the answer is the stimulus with the larger strength summed over both
  modalities.

Stimulus parameters ([recon] after Yang et al. 2019, [project] where marked): stimulus A's angle is U(0, 2 pi); B's
differs from A's by U(0.5 pi, 1.5 pi). DM strengths are ``mean +/- coherence`` with a per-modality mean U(0.8, 1.2),
the coherence drawn from ``Timing.coherences`` and a random sign (which stimulus is stronger). Context tasks draw mean,
coherence and sign independently per modality, so the modalities disagree in about half of the trials.
[project] MultiMemoryDm draws one coherence c and sign for the sum: one random modality carries ``+/- c``, the other
``+/- u c`` with u ~ U(-0.5, 1), so the summed difference is ``2 (1 + u) c`` with the chosen sign (never below ``c``
in size) while the modalities disagree in about a third of the trials. [project] Single-stimulus strengths are
U(0.8, 1.2).

Padding [project]: every trial of a batch has the same length T (by default :func:`max_length` of the task, the
longest possible trial). A shorter trial is padded AT THE START with extra fixation (fixation input 1, target
fixation 1, loss mask 1), so the response period is always the final ``Timing.response`` steps and ``go = T -
response`` for every trial. Because a trial's own fixation period and its padding look the same, the fixation
duration is not drawn: the time before the first stimulus is whatever the later periods leave of T (at least
``fixation[1]`` steps at the default T; ``Timing.fixation`` enters only through :func:`max_length`).

Loss mask: 1 before go, 0 for the first ``Timing.grace`` response steps, ``Timing.response_weight`` after them.
Input noise N(0, input_noise^2) is added to all inputs at every step when ``noise=True``.

Randomness comes only from the ``numpy.random.Generator`` passed to :func:`make_batch`; the global numpy and torch
RNGs are never used. Arrays are built with numpy over the whole batch (no loop over trials) and returned as torch
tensors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

import numpy as np
import torch
from torch import Tensor

__all__ = ["TASKS", "TASK_LABELS", "NEUROGYM_IDS", "N_INPUTS", "N_OUTPUTS", "Timing", "TrialBatch", "make_batch",
           "max_length", "trial_correct", "accuracy"]

#: The nine tasks, in the card's order (card §2.1).
TASKS: tuple[str, ...] = ("DelayPro", "DelayAnti", "MemoryPro", "MemoryAnti", "MemoryDm1", "MemoryDm2",
                          "ContextMemoryDm1", "ContextMemoryDm2", "MultiMemoryDm")
#: Readable names for the page.
TASK_LABELS: dict[str, str] = {
    "DelayPro": "Delay pro",
    "DelayAnti": "Delay anti",
    "MemoryPro": "Memory pro",
    "MemoryAnti": "Memory anti",
    "MemoryDm1": "Memory DM 1",
    "MemoryDm2": "Memory DM 2",
    "ContextMemoryDm1": "Context memory DM 1",
    "ContextMemoryDm2": "Context memory DM 2",
    "MultiMemoryDm": "Multi-sensory memory DM",
}
#: The matching neurogym 2.3.1 ``yang19`` environment of each task (card §2.1).
NEUROGYM_IDS: dict[str, str] = {
    "DelayPro": "yang19.go-v0",
    "DelayAnti": "yang19.anti-v0",
    "MemoryPro": "yang19.dlygo-v0",
    "MemoryAnti": "yang19.dlyanti-v0",
    "MemoryDm1": "yang19.dlydm1-v0",
    "MemoryDm2": "yang19.dlydm2-v0",
    "ContextMemoryDm1": "yang19.ctxdlydm1-v0",
    "ContextMemoryDm2": "yang19.ctxdlydm2-v0",
    "MultiMemoryDm": "yang19.multidlydm-v0",
}
N_INPUTS = 5
N_OUTPUTS = 3

_TWO_PI = 2.0 * math.pi
_SINGLE = ("DelayPro", "DelayAnti", "MemoryPro", "MemoryAnti")
_RANGE_FIELDS = ("fixation", "stimulus", "delay", "stimulus2", "post_delay")
_MIN_DURATION = {"fixation": 1, "stimulus": 1, "delay": 0, "stimulus2": 1, "post_delay": 0}


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Timing:
    """Period durations (steps of dt = 50 ms, inclusive ``(low, high)`` ranges) and stimulus settings.

    Defaults are the card's [project] SMALL timings (§2.1): trials of 20-36 steps (single-stimulus tasks) and 26-48
    steps (DM tasks).

    Attributes
    ----------
    fixation, stimulus, delay, stimulus2, post_delay : tuple[int, int]
        Inclusive duration ranges. ``stimulus2`` and ``post_delay`` are used by the DM tasks only. Minimum low bound
        1 for fixation and the stimuli, 0 for the delays.
    response : int
        Length of the response period (>= 1), the last ``response`` steps of every trial.
    coherences : tuple[float, ...]
        DM coherences, each in (0, 0.8) so that every strength ``mean - coherence`` stays positive.
    input_noise : float
        Standard deviation of the input noise (>= 0).
    grace : int
        Response steps at the start of the response period with loss weight 0, in [0, response).
    response_weight : float
        Loss weight of the remaining response steps (> 0).
    """

    fixation: tuple[int, int] = (4, 8)
    stimulus: tuple[int, int] = (4, 8)
    delay: tuple[int, int] = (4, 12)
    stimulus2: tuple[int, int] = (4, 8)
    post_delay: tuple[int, int] = (2, 4)
    response: int = 8
    coherences: tuple[float, ...] = (0.08, 0.16, 0.32, 0.64)
    input_noise: float = 0.05
    grace: int = 2
    response_weight: float = 5.0

    def __post_init__(self) -> None:
        for name in _RANGE_FIELDS:
            value = getattr(self, name)
            lo_min = _MIN_DURATION[name]
            if (not isinstance(value, (tuple, list)) or len(value) != 2 or not all(_is_int(v) for v in value)
                    or not lo_min <= value[0] <= value[1]):
                raise ValueError(f"Timing.{name} must be a pair of integers (low, high) with {lo_min} <= low <= high, "
                                 f"got {value!r}")
            object.__setattr__(self, name, (int(value[0]), int(value[1])))
        if not _is_int(self.response) or self.response < 1:
            raise ValueError(f"Timing.response must be an integer >= 1, got {self.response!r}")
        coh = self.coherences
        if (not isinstance(coh, (tuple, list)) or len(coh) == 0
                or not all(isinstance(c, Real) and not isinstance(c, bool) and 0.0 < float(c) < 0.8 for c in coh)):
            raise ValueError(f"Timing.coherences must be a non-empty tuple of numbers in (0, 0.8), got {coh!r}")
        object.__setattr__(self, "coherences", tuple(float(c) for c in coh))
        if (not isinstance(self.input_noise, Real) or isinstance(self.input_noise, bool)
                or not math.isfinite(self.input_noise) or self.input_noise < 0):
            raise ValueError(f"Timing.input_noise must be a finite number >= 0, got {self.input_noise!r}")
        if not _is_int(self.grace) or not 0 <= self.grace < self.response:
            raise ValueError(f"Timing.grace must be an integer in [0, response) = [0, {self.response}), "
                             f"got {self.grace!r}")
        w = self.response_weight
        if not isinstance(w, Real) or isinstance(w, bool) or not math.isfinite(w) or w <= 0:
            raise ValueError(f"Timing.response_weight must be a finite number > 0, got {w!r}")


@dataclass(frozen=True)
class TrialBatch:
    """One batch of trials of one task (batch-first, time axis T; see the module docstring for the padding).

    Attributes
    ----------
    inputs : torch.Tensor
        (B, T, 5) float32, input noise already added when generated with ``noise=True``.
    targets : torch.Tensor
        (B, T, 3) float32: fixation 1 before go, 0 after; (cos, sin) of ``angle`` from go on, 0 before.
    mask : torch.Tensor
        (B, T) float32 loss weights: 1 before go, 0 for the first ``grace`` response steps, ``response_weight`` after.
    go : torch.Tensor
        (B,) int64 index of the first response step (= T - response for every trial).
    angle : torch.Tensor
        (B,) float32 correct response angle in [0, 2 pi).
    stimulus_angles : torch.Tensor
        (B, 2) float32 angles of stimulus 1 and 2 in [0, 2 pi) (2 = 1 for single-stimulus tasks).
    strengths : torch.Tensor
        (B, 2, 2) float32 strength per [stimulus, modality], 0 where that stimulus is absent.
    task : str
        The task name.
    """

    inputs: Tensor
    targets: Tensor
    mask: Tensor
    go: Tensor
    angle: Tensor
    stimulus_angles: Tensor
    strengths: Tensor
    task: str


def _check_task(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    return task


def _check_timing(timing: Timing) -> Timing:
    if not isinstance(timing, Timing):
        raise ValueError(f"timing must be a neurodyn.multitask.tasks.Timing, got {type(timing).__name__}")
    return timing


def max_length(task: str, timing: Timing = Timing()) -> int:
    """Length of the longest possible trial of ``task``: the default T of :func:`make_batch`.

    Parameters
    ----------
    task : str
        One of :data:`TASKS`.
    timing : Timing
        Period durations.

    Returns
    -------
    int
        fixation + stimulus + delay (+ stimulus2 + post_delay for DM tasks) upper bounds + response.

    Examples
    --------
    >>> max_length("MemoryPro"), max_length("MemoryDm1")
    (36, 48)
    """
    _check_task(task)
    _check_timing(timing)
    n = timing.fixation[1] + timing.stimulus[1] + timing.delay[1] + timing.response
    if task not in _SINGLE:
        n += timing.stimulus2[1] + timing.post_delay[1]
    return n


def _durations(rng: np.random.Generator, bounds: tuple[int, int], b: int) -> np.ndarray:
    return rng.integers(bounds[0], bounds[1] + 1, size=b)


def _signs(rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
    """Random +1 / -1 (float64) of the given shape."""
    return 2.0 * rng.integers(0, 2, size=size) - 1.0


def _to_f32_angle(x: np.ndarray) -> np.ndarray:
    """float32 angles in [0, 2 pi): float32 rounding of values just below 2 pi would otherwise give 2 pi."""
    out = np.mod(x, _TWO_PI).astype(np.float32)
    out[out >= np.float32(_TWO_PI)] = 0.0
    return out


def make_batch(task: str, batch_size: int, *, generator: np.random.Generator, timing: Timing = Timing(),
               noise: bool = True, length: int | None = None) -> TrialBatch:
    """Generate ``batch_size`` trials of ``task`` (vectorised over trials).

    Parameters
    ----------
    task : str
        One of :data:`TASKS`.
    batch_size : int
        Number of trials B, >= 1.
    generator : numpy.random.Generator
        The only source of randomness (durations, angles, modalities, strengths, input noise).
    timing : Timing
        Period durations and stimulus settings (default: the card's SMALL timings).
    noise : bool
        Add N(0, input_noise^2) to every input at every step.
    length : int or None
        Trial length T to pad to; at least :func:`max_length` (the longest possible trial must fit, so that whether
        a call succeeds never depends on the draws). None: ``max_length(task, timing)``.

    Returns
    -------
    TrialBatch
        inputs (B, T, 5), targets (B, T, 3), mask (B, T), go (B,), angle (B,), stimulus_angles (B, 2),
        strengths (B, 2, 2).

    Raises
    ------
    ValueError
        Unknown task, ``batch_size < 1``, ``length`` shorter than the longest possible trial, a generator that is
        not a ``numpy.random.Generator``, or a bad ``timing``.
    """
    _check_task(task)
    _check_timing(timing)
    if not _is_int(batch_size) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if not isinstance(generator, np.random.Generator):
        raise ValueError(f"generator must be a numpy.random.Generator, got {type(generator).__name__}")
    t_max = max_length(task, timing)
    if length is None:
        length = t_max
    elif not _is_int(length) or length < t_max:
        raise ValueError(f"length must be an integer >= {t_max} (the longest possible {task} trial with this "
                         f"timing), got {length!r}")
    b, n_t, rng = int(batch_size), int(length), generator
    resp = timing.response
    go = n_t - resp
    single = task in _SINGLE

    # ---- durations, laid out backwards from go (the padding goes into the first fixation period)
    stim = _durations(rng, timing.stimulus, b)
    delay = _durations(rng, timing.delay, b)
    if single:
        stim_on = go - delay - stim  # (B,)
        stim_off = go - delay
    else:
        stim2 = _durations(rng, timing.stimulus2, b)
        post = _durations(rng, timing.post_delay, b)
        stim2_off = go - post
        stim2_on = stim2_off - stim2
        stim_off = stim2_on - delay
        stim_on = stim_off - stim
    # The trial's own fixation period and the padding are indistinguishable (fixation input 1, target fixation 1,
    # mask 1), so no fixation duration is drawn: the pre-stimulus fixation is T - (the rest of the trial), at least
    # fixation[1] steps at the default T.

    # ---- stimuli
    theta1 = rng.uniform(0.0, _TWO_PI, size=b).astype(np.float32).astype(np.float64)
    strengths = np.zeros((b, 2, 2))
    if single:
        theta2 = theta1
        modality = rng.integers(0, 2, size=b)
        strengths[np.arange(b), 0, modality] = rng.uniform(0.8, 1.2, size=b)
        answer = theta1 + math.pi if task.endswith("Anti") else theta1
    else:
        theta2 = np.mod(theta1 + rng.uniform(0.5 * math.pi, 1.5 * math.pi, size=b), _TWO_PI)
        theta2 = theta2.astype(np.float32).astype(np.float64)
        coh = np.asarray(timing.coherences)
        mean = rng.uniform(0.8, 1.2, size=(b, 2))  # per modality
        if task.startswith("MemoryDm"):
            half = coh[rng.integers(0, len(coh), size=b)] * _signs(rng, b)
            m = 0 if task == "MemoryDm1" else 1
            strengths[:, 0, m] = mean[:, m] + half
            strengths[:, 1, m] = mean[:, m] - half
            decisive = strengths[:, 0, m] - strengths[:, 1, m]
        else:
            if task.startswith("Context"):
                half = coh[rng.integers(0, len(coh), size=(b, 2))] * _signs(rng, (b, 2))
            else:  # MultiMemoryDm: the sum over modalities decides; one modality may disagree
                c = coh[rng.integers(0, len(coh), size=b)] * _signs(rng, b)
                scale = np.stack([np.ones(b), rng.uniform(-0.5, 1.0, size=b)], axis=1)
                flip = rng.integers(0, 2, size=b).astype(bool)
                scale[flip] = scale[flip, ::-1]
                half = c[:, None] * scale
            strengths[:, 0, :] = mean + half
            strengths[:, 1, :] = mean - half
            diff = strengths[:, 0, :] - strengths[:, 1, :]  # (B, 2)
            if task == "ContextMemoryDm1":
                decisive = diff[:, 0]
            elif task == "ContextMemoryDm2":
                decisive = diff[:, 1]
            else:
                decisive = diff.sum(axis=1)
        answer = np.where(decisive > 0, theta1, theta2)
    strengths = strengths.astype(np.float32)

    # ---- inputs (B, T, 5)
    t = np.arange(n_t)[None, :]  # (1, T)
    inputs = np.zeros((b, n_t, N_INPUTS), dtype=np.float32)
    inputs[:, :go, 0] = 1.0
    # stimulus k in modality m drives channels 1 + 2 m, 2 + 2 m with strength[k, m] (cos, sin)(theta_k) while on
    vec1 = np.stack([np.cos(theta1), np.sin(theta1)], axis=-1).astype(np.float32)  # (B, 2)
    end1 = np.full(b, n_t) if task.startswith("Delay") else stim_off  # Delay tasks: on through the response
    on1 = ((t >= stim_on[:, None]) & (t < end1[:, None])).astype(np.float32)  # (B, T)
    drive1 = (strengths[:, 0, :, None] * vec1[:, None, :]).reshape(b, 1, 4)  # (B, 1, 4)
    inputs[:, :, 1:] = on1[:, :, None] * drive1
    if not single:
        vec2 = np.stack([np.cos(theta2), np.sin(theta2)], axis=-1).astype(np.float32)
        on2 = ((t >= stim2_on[:, None]) & (t < stim2_off[:, None])).astype(np.float32)
        inputs[:, :, 1:] += on2[:, :, None] * (strengths[:, 1, :, None] * vec2[:, None, :]).reshape(b, 1, 4)
    if noise and timing.input_noise > 0:
        inputs += np.float32(timing.input_noise) * rng.standard_normal((b, n_t, N_INPUTS), dtype=np.float32)

    # ---- targets (B, T, 3) and mask (B, T)
    targets = np.zeros((b, n_t, N_OUTPUTS), dtype=np.float32)
    targets[:, :go, 0] = 1.0
    targets[:, go:, 1] = np.cos(answer)[:, None]
    targets[:, go:, 2] = np.sin(answer)[:, None]
    mask = np.ones((b, n_t), dtype=np.float32)
    mask[:, go:go + timing.grace] = 0.0
    mask[:, go + timing.grace:] = np.float32(timing.response_weight)

    return TrialBatch(
        inputs=torch.from_numpy(inputs),
        targets=torch.from_numpy(targets),
        mask=torch.from_numpy(mask),
        go=torch.full((b,), go, dtype=torch.int64),
        angle=torch.from_numpy(_to_f32_angle(answer)),
        stimulus_angles=torch.from_numpy(np.stack([_to_f32_angle(theta1), _to_f32_angle(theta2)], axis=1)),
        strengths=torch.from_numpy(strengths),
        task=task,
    )


def trial_correct(outputs: Tensor, batch: TrialBatch, *, tolerance: float = 0.2 * math.pi) -> Tensor:
    """Per-trial correctness: Yang et al.'s criterion on the last step plus held fixation before go.

    A trial is correct when (a) at the last step the fixation output is below 0.5 and the read-out angle
    ``atan2(sin, cos)`` is within ``tolerance`` of ``batch.angle`` (circular distance), and (b) [project] the
    fixation output is above 0.5 at every step before ``go``.

    Parameters
    ----------
    outputs : torch.Tensor or numpy.ndarray
        (B, T, 3) network outputs [fixation, cos, sin], the same B and T as ``batch``.
    batch : TrialBatch
        The trials the outputs answer.
    tolerance : float
        Largest accepted circular angle error in radians (> 0).

    Returns
    -------
    torch.Tensor
        (B,) bool.
    """
    y = torch.as_tensor(outputs).detach()
    b, n_t = batch.inputs.shape[0], batch.inputs.shape[1]
    if y.shape != (b, n_t, N_OUTPUTS):
        raise ValueError(f"outputs must have shape (B, T, 3) = ({b}, {n_t}, {N_OUTPUTS}) to match the batch, "
                         f"got {tuple(y.shape)}")
    if not isinstance(tolerance, Real) or not tolerance > 0:
        raise ValueError(f"tolerance must be a number > 0 (radians), got {tolerance!r}")
    y = y.to(torch.float64)
    last = y[:, -1]
    read = torch.atan2(last[:, 2], last[:, 1])
    err = torch.remainder(read - batch.angle.to(device=y.device, dtype=torch.float64), _TWO_PI)
    dist = torch.minimum(err, _TWO_PI - err)
    released = last[:, 0] < 0.5
    before_go = torch.arange(n_t, device=y.device)[None, :] < batch.go.to(y.device)[:, None]  # (B, T)
    held = torch.where(before_go, y[:, :, 0] > 0.5, torch.ones_like(before_go)).all(dim=1)
    return released & (dist <= tolerance) & held


def accuracy(outputs: Tensor, batch: TrialBatch) -> float:
    """Fraction of correct trials (mean of :func:`trial_correct`).

    Parameters
    ----------
    outputs : torch.Tensor or numpy.ndarray
        (B, T, 3) network outputs.
    batch : TrialBatch
        The trials they answer.

    Returns
    -------
    float
        In [0, 1].
    """
    return float(trial_correct(outputs, batch).to(torch.float64).mean().item())
