"""Game optimizers: LEAD (arXiv:2010.13846) and the baselines it is compared with.

Each optimizer is a ``torch.optim.Optimizer`` whose param groups carry ``role="min"`` (player x) or ``role="max"``
(player y). ``step(closure)`` takes a closure that returns the game value WITHOUT calling backward; the optimizer
takes its own gradients with ``torch.autograd.grad`` (several per step for extragradient, LEAD, consensus). The
closure may return

- a scalar tensor ``f``: the zero-sum game ``min_x max_y f(x, y)`` (player losses ``L_x = f``, ``L_y = -f``);
- a pair ``(L_x, L_y)``: a general-sum game where each player minimises its own loss (GANs).

The arithmetic lives in :mod:`neurodyn.lead.functional`; this module gathers gradients and state.

LEAD's coupling ``H_xy dy`` (and ``H_yx dx``) is a Hessian-vector product by double backprop: the gradient of the
other player's loss is built with ``create_graph=True`` and ``grad_i <grad_j L_j, stopgrad(dtheta_j)>`` is taken
through it (docs/papers/lead.md §3). Velocities start at zero (``theta_{-1} = theta_0``), so the first LEAD step is a
GDA step.

Gradient accounting (attribute ``grad_evals``, in gradient-equivalents of the joint field ``v``): a backward pass
for both players' gradients counts 1, for one player's gradient 0.5, and one player's block Hessian-vector product
0.5 (so the full coupling ``C(w) dw`` counts 1, like one gradient). Per step: SimGDA, AltGDA, OptimisticGDA,
Momentum 1; ExtraGradient, ConsensusOptimization and simultaneous LEAD 2; alternating LEAD 3 (it needs the field at
two points); LEADAdam 3 per iteration with ``alpha != 0`` (Adam alone: 1).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import torch
from torch import Tensor

from neurodyn.lead import functional as F

__all__ = [
    "GameOptimizer",
    "SimGDA",
    "AltGDA",
    "ExtraGradient",
    "OptimisticGDA",
    "Momentum",
    "ConsensusOptimization",
    "LEAD",
    "LEADAdam",
    "mixed_hvp",
]

_ROLES = ("min", "max")


def _grad(outputs: Tensor | Sequence[Tensor], inputs: Sequence[Tensor], *, grad_outputs: Sequence[Tensor] | None = None,
          create_graph: bool = False) -> list[Tensor]:
    """``torch.autograd.grad`` that returns zeros for inputs the outputs do not depend on.

    ``outputs`` is a scalar, or a sequence of tensors weighted by ``grad_outputs`` (a vector-Jacobian product);
    outputs without a graph contribute nothing.
    """
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    vecs = [None] * len(outs) if grad_outputs is None else list(grad_outputs)
    pairs = [(o, v) for o, v in zip(outs, vecs) if o.requires_grad]
    if not pairs:
        return [torch.zeros_like(p) for p in inputs]
    grads = torch.autograd.grad([o for o, _ in pairs], list(inputs),
                                grad_outputs=None if grad_outputs is None else [v for _, v in pairs],
                                create_graph=create_graph, retain_graph=True, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(inputs, grads)]


def _vjp(outputs: Sequence[Tensor], vectors: Sequence[Tensor], inputs: Sequence[Tensor]) -> list[Tensor]:
    """``grad_inputs <outputs, stopgrad(vectors)>`` as one vector-Jacobian product (no dot-product node)."""
    return _grad(outputs, inputs, grad_outputs=[v.detach() for v in vectors])


def _dot(a: Sequence[Tensor], b: Sequence[Tensor]) -> Tensor:
    """Sum of elementwise products over lists of tensors (a scalar)."""
    if len(a) == 1:
        return (a[0] * b[0]).sum()
    if not a:
        return torch.zeros(())
    return torch.dot(torch.cat([u.reshape(-1) for u in a]), torch.cat([v.reshape(-1) for v in b]))


def mixed_hvp(
    f: Tensor, x: Sequence[Tensor], y: Sequence[Tensor], dx: Sequence[Tensor], dy: Sequence[Tensor]
) -> tuple[list[Tensor], list[Tensor]]:
    """LEAD's coupling vectors ``(H_xy dy, H_yx dx)`` by double backprop (docs/papers/lead.md §3).

    ``H_xy dy = grad_x <grad_y f, stopgrad(dy)>`` and ``H_yx dx = grad_y <grad_x f, stopgrad(dx)>``.

    Parameters
    ----------
    f : Tensor
        Scalar game value computed from ``x`` and ``y`` (with a graph).
    x, y : sequence of Tensor
        The players' parameters (``requires_grad=True``).
    dx, dy : sequence of Tensor
        Displacements, shaped like ``x`` and ``y``.

    Returns
    -------
    hxy_dy : list of Tensor, shaped like ``x``
    hyx_dx : list of Tensor, shaped like ``y``
    """
    with torch.enable_grad():
        g = _grad(f, list(x) + list(y), create_graph=True)
        gx, gy = g[: len(x)], g[len(x) :]
        hxy_dy = _vjp(gy, dy, x)
        hyx_dx = _vjp(gx, dx, y)
    return hxy_dy, hyx_dx


class GameOptimizer(torch.optim.Optimizer):
    """Base class: two players given by param groups with ``role="min"`` / ``role="max"``.

    Parameters
    ----------
    params : iterable of dict
        Param groups, each with ``"params"`` and ``"role"`` (``"min"`` or ``"max"``), optionally per-group
        hyperparameters overriding the defaults.
    defaults : dict
        Default hyperparameters.

    Attributes
    ----------
    grad_evals : float
        Gradient-equivalents spent so far (see the module docstring).
    """

    #: hyperparameter name -> "lr" (non-negative finite) or "finite"
    _CHECKS: dict[str, str] = {}

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        for key, kind in self._CHECKS.items():
            self._check(key, kind, defaults[key])
        self.grad_evals = 0.0
        super().__init__(params, defaults)
        roles = {g["role"] for g in self.param_groups}
        if roles != set(_ROLES):
            raise ValueError(f"a game needs param groups with role='min' and role='max', got roles {sorted(roles)}")

    @staticmethod
    def _check(key: str, kind: str, value: Any) -> None:
        if kind == "lr":
            F.check_lr(value, key)
        else:
            F.check_finite(value, key)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a param group after checking its ``role`` and hyperparameters (``ValueError`` if bad)."""
        if not isinstance(param_group, dict) or param_group.get("role") not in _ROLES:
            got = param_group.get("role") if isinstance(param_group, dict) else type(param_group).__name__
            raise ValueError(f"each param group needs role='min' or role='max', got {got!r}")
        for key, kind in self._CHECKS.items():
            if key in param_group:
                self._check(key, kind, param_group[key])
        super().add_param_group(param_group)

    # ------------------------------------------------------------------ helpers
    def _params(self, role: str) -> list[Tensor]:
        return [p for g in self.param_groups if g["role"] == role for p in g["params"]]

    def _groups(self, role: str) -> list[tuple[Tensor, dict[str, Any]]]:
        return [(p, g) for g in self.param_groups if g["role"] == role for p in g["params"]]

    def _slices(self, role: str):
        """Yield ``(group, start, stop)``: the group's positions in the role's parameter list."""
        i = 0
        for g in self.param_groups:
            if g["role"] == role:
                n = len(g["params"])
                yield g, i, i + n
                i += n

    @staticmethod
    def _call(closure: Callable[[], Any] | None) -> Any:
        if closure is None:
            raise ValueError("game optimizers need a closure returning f(x, y) (or the pair (L_x, L_y))")
        with torch.enable_grad():
            return closure()

    def _field(self, out: Any, roles: Sequence[str], *, create_graph: bool = False) -> dict[str, list[Tensor]]:
        """Descent-convention gradients (each player's gradient of its own loss) of the players in ``roles``."""
        with torch.enable_grad():
            if isinstance(out, (tuple, list)):
                losses = dict(zip(_ROLES, out))
                res = {r: _grad(losses[r], self._params(r), create_graph=create_graph) for r in roles}
            else:
                inputs = [p for r in roles for p in self._params(r)]
                flat = _grad(out, inputs, create_graph=create_graph)
                res, i = {}, 0
                for r in roles:
                    n = len(self._params(r))
                    res[r] = flat[i : i + n] if r == "min" else [-g for g in flat[i : i + n]]
                    i += n
        self.grad_evals += 0.5 * len(roles)
        return res

    def _cross(self, v_other: Sequence[Tensor], d_other: Sequence[Tensor], role: str) -> list[Tensor]:
        """``grad_role <v_other, stopgrad(d_other)>``: the other player's Jacobian block times its displacement."""
        with torch.enable_grad():
            out = _vjp(v_other, d_other, self._params(role))
        self.grad_evals += 0.5
        return out

    @staticmethod
    def _value(out: Any) -> Any:
        if isinstance(out, (tuple, list)):
            return tuple(o.detach() for o in out)
        return out.detach()

    def _prev(self, p: Tensor) -> Tensor:
        st = self.state[p]
        if "prev" not in st:
            st["prev"] = p.detach().clone()  # zero velocity at the start
        return st["prev"]


class SimGDA(GameOptimizer):
    """Simultaneous gradient descent-ascent ``w <- w - lr v(w)``.

    Parameters
    ----------
    params : iterable of dict
        Param groups with ``role``.
    lr : float
        Step size ``eta`` (>= 0).
    """

    _CHECKS = {"lr": "lr"}

    def __init__(self, params: Iterable[Any], lr: float = 0.1) -> None:
        super().__init__(params, {"lr": lr})

    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """One step; returns the closure's value at the starting point."""
        out = self._call(closure)
        v = self._field(out, _ROLES)
        with torch.no_grad():
            for role in _ROLES:
                for g, a, b in self._slices(role):
                    F.gda_update_(g["params"], v[role][a:b], lr=g["lr"])
        return self._value(out)


class AltGDA(GameOptimizer):
    """Alternating GDA: ``x <- x - lr grad_x f(x, y)``, then ``y <- y + lr grad_y f(x_new, y)``.

    Parameters
    ----------
    params : iterable of dict
    lr : float
    """

    _CHECKS = {"lr": "lr"}

    def __init__(self, params: Iterable[Any], lr: float = 0.1) -> None:
        super().__init__(params, {"lr": lr})

    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """One step (two closure calls); returns the closure's value at the starting point."""
        first = None
        for role in _ROLES:
            out = self._call(closure)
            first = out if first is None else first
            v = self._field(out, (role,))[role]
            with torch.no_grad():
                for g, a, b in self._slices(role):
                    F.gda_update_(g["params"], v[a:b], lr=g["lr"])
        return self._value(first)


class ExtraGradient(GameOptimizer):
    """Extragradient: ``w_half = w - lr v(w)``, ``w <- w - lr v(w_half)`` (2 gradient evaluations).

    Parameters
    ----------
    params : iterable of dict
    lr : float
    """

    _CHECKS = {"lr": "lr"}

    def __init__(self, params: Iterable[Any], lr: float = 0.1) -> None:
        super().__init__(params, {"lr": lr})

    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """One step; returns the closure's value at the starting point."""
        out = self._call(closure)
        v = self._field(out, _ROLES)
        saved = {}
        with torch.no_grad():
            for role in _ROLES:
                for (p, g), vp in zip(self._groups(role), v[role]):
                    saved[p] = p.detach().clone()
                    p.copy_(F.gda_update(p, vp, lr=g["lr"]))
        v_half = self._field(self._call(closure), _ROLES)
        with torch.no_grad():
            for role in _ROLES:
                for (p, g), vp in zip(self._groups(role), v_half[role]):
                    p.copy_(F.extragradient_update(saved[p], vp, lr=g["lr"]))
        return self._value(out)


class OptimisticGDA(GameOptimizer):
    """Optimistic GDA ``w_{k+1} = w_k - 2 lr v(w_k) + lr v(w_{k-1})`` with ``w_{-1} = w_0``.

    Parameters
    ----------
    params : iterable of dict
    lr : float
    """

    _CHECKS = {"lr": "lr"}

    def __init__(self, params: Iterable[Any], lr: float = 0.1) -> None:
        super().__init__(params, {"lr": lr})

    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """One step; returns the closure's value at the starting point."""
        out = self._call(closure)
        v = self._field(out, _ROLES)
        with torch.no_grad():
            for role in _ROLES:
                for (p, g), vp in zip(self._groups(role), v[role]):
                    st = self.state[p]
                    v_prev = st.get("v_prev", vp)
                    p.copy_(F.ogda_update(p, vp, v_prev, lr=g["lr"]))
                    st["v_prev"] = vp.detach().clone()
        return self._value(out)


class Momentum(GameOptimizer):
    """Heavy-ball GDA ``w_{k+1} = w_k + beta (w_k - w_{k-1}) - lr v(w_k)``.

    ``alternating=True`` updates x first and then y with the new x (Gidel et al. 2019's negative momentum uses this
    with ``beta < 0``). Simultaneous heavy ball never converges on a bilinear game.

    Parameters
    ----------
    params : iterable of dict
    lr : float
    beta : float
        Momentum (any finite value; negative for negative momentum).
    alternating : bool, default False
    """

    _CHECKS = {"lr": "lr", "beta": "finite"}

    def __init__(self, params: Iterable[Any], lr: float = 0.1, beta: float = 0.5, alternating: bool = False) -> None:
        self.alternating = bool(alternating)
        super().__init__(params, {"lr": lr, "beta": beta})

    def _update(self, role: str, v: list[Tensor]) -> None:
        with torch.no_grad():
            for g, a, b in self._slices(role):
                prevs = [self._prev(p) for p in g["params"]]
                d = torch._foreach_sub(g["params"], prevs)
                F.lead_update_(g["params"], prevs, d, v[a:b], None, lr=g["lr"], beta=g["beta"], alpha=0.0)

    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """One step; returns the closure's value at the starting point."""
        out = self._call(closure)
        if self.alternating:
            self._update("min", self._field(out, ("min",))["min"])
            self._update("max", self._field(self._call(closure), ("max",))["max"])
        else:
            v = self._field(out, _ROLES)
            for role in _ROLES:
                self._update(role, v[role])
        return self._value(out)


class ConsensusOptimization(GameOptimizer):
    """Consensus optimisation (Mescheder et al. 2017): ``w <- w - lr (v + gamma J_v^T v)``.

    ``J_v^T v = grad (1/2 ||v||^2)`` is one Hessian-vector product through the graph of ``v``.

    Parameters
    ----------
    params : iterable of dict
    lr : float
    gamma : float
        Weight of the consensus term.
    """

    _CHECKS = {"lr": "lr", "gamma": "finite"}

    def __init__(self, params: Iterable[Any], lr: float = 0.1, gamma: float = 0.1) -> None:
        super().__init__(params, {"lr": lr, "gamma": gamma})

    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """One step; returns the closure's value at the starting point."""
        out = self._call(closure)
        v = self._field(out, _ROLES, create_graph=True)
        allp = self._params("min") + self._params("max")
        with torch.enable_grad():
            flat_v = v["min"] + v["max"]
            jtv = _grad(0.5 * _dot(flat_v, flat_v), allp)
        self.grad_evals += 1.0
        jtv_of = dict(zip(map(id, allp), jtv))
        with torch.no_grad():
            for role in _ROLES:
                for (p, g), vp in zip(self._groups(role), v[role]):
                    p.copy_(F.consensus_update(p, vp.detach(), jtv_of[id(p)], lr=g["lr"], gamma=g["gamma"]))
        return self._value(out)


class LEAD(GameOptimizer):
    """LEAD, Least Action Dynamics (docs/papers/lead.md §3), coupled by double-backprop Hessian-vector products.

    ``x_{k+1} = x_k + beta dx_k - lr grad_x f(x_k, y_k) - alpha H_xy dy_k``
    ``y_{k+1} = y_k + beta dy_k + lr grad_y f(x_k, y_k) + alpha H_yx dx_k``

    With ``alternating=True`` (the reference's Lyapunov.py demo), x is updated first and y's gradient and
    coupling are taken at the new x, while both couplings use the previous displacements ``dx_k``, ``dy_k``.
    A closure returning ``(L_x, L_y)`` gives the general-sum form: coupling of player i is
    ``-grad_i <grad_j L_j, stopgrad(dtheta_j)>``; with ``(f, -f)`` it reproduces the zero-sum update exactly.

    Parameters
    ----------
    params : iterable of dict
        Param groups with ``role``.
    lr : float
        ``eta`` (>= 0).
    beta : float
        Momentum ``beta``.
    alpha : float
        Coupling strength ``alpha`` (``alpha = 0``: heavy ball; ``alpha = beta = 0``: GDA).
    alternating : bool, default False

    Examples
    --------
    >>> x = torch.tensor([0.7071], dtype=torch.float64, requires_grad=True)
    >>> y = torch.tensor([0.7071], dtype=torch.float64, requires_grad=True)
    >>> opt = LEAD([{"params": [x], "role": "min"}, {"params": [y], "role": "max"}], lr=0.1, beta=0.5, alpha=0.51)
    >>> for _ in range(100):
    ...     _ = opt.step(lambda: (x * y).sum())
    >>> bool(torch.hypot(x, y) < 1e-5), opt.grad_evals
    (True, 200.0)
    """

    _CHECKS = {"lr": "lr", "beta": "finite", "alpha": "finite"}

    def __init__(
        self, params: Iterable[Any], lr: float = 0.1, beta: float = 0.5, alpha: float = 0.5, alternating: bool = False
    ) -> None:
        self.alternating = bool(alternating)
        super().__init__(params, {"lr": lr, "beta": beta, "alpha": alpha})

    def _coupled(self) -> bool:
        return any(g["alpha"] != 0.0 for g in self.param_groups)

    def _velocity(self, role: str) -> list[Tensor]:
        with torch.no_grad():
            ps = self._params(role)
            return list(torch._foreach_sub(ps, [self._prev(p) for p in ps]))

    def _update(self, role: str, v: list[Tensor], d: list[Tensor], c: list[Tensor] | None) -> None:
        # c holds grad_i <v_j, d_j>; the coupling of lead_update is its negative, hence alpha -> -alpha
        with torch.no_grad():
            for g, a, b in self._slices(role):
                F.lead_update_(g["params"], [self._prev(p) for p in g["params"]], d[a:b], [t.detach() for t in v[a:b]],
                               None if c is None else c[a:b], lr=g["lr"], beta=g["beta"], alpha=-g["alpha"])

    def _couplings(self, v: dict[str, list[Tensor]], d: dict[str, list[Tensor]], roles: Sequence[str]):
        other = {"min": "max", "max": "min"}
        return {r: self._cross(v[other[r]], d[other[r]], r) for r in roles}

    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """One LEAD step; returns the closure's value at the starting point."""
        coupled = self._coupled()
        d = {r: self._velocity(r) for r in _ROLES}  # dx_k, dy_k before any update
        out = self._call(closure)
        v = self._field(out, _ROLES, create_graph=coupled)
        if not self.alternating:
            c = self._couplings(v, d, _ROLES) if coupled else {"min": None, "max": None}
            for role in _ROLES:
                self._update(role, v[role], d[role], c[role])
            return self._value(out)
        c = self._couplings(v, d, ("min",)) if coupled else {"min": None}
        self._update("min", v["min"], d["min"], c["min"])
        roles = _ROLES if coupled else ("max",)
        v2 = self._field(self._call(closure), roles, create_graph=coupled)
        c2 = self._couplings(v2, d, ("max",)) if coupled else {"max": None}
        self._update("max", v2["max"], d["max"], c2["max"])
        return self._value(out)


class LEADAdam(GameOptimizer):
    """LEAD-Adam for GANs (docs/papers/lead.md §4): the general-sum LEAD direction fed to Adam, players alternating.

    For player i (its turn), with j the other player::

        g_i = grad_i L_i
        c_i = grad_i < grad_j L_j , stopgrad(theta_j - theta_j_prev) >     (double backprop)
        theta_i_prev <- theta_i ;  Adam step on theta_i with gradient g_i - alpha * c_i

    The closure is re-evaluated for the second player, so its gradients see the first player's new weights (the
    reference scripts reuse a stale graph instead; docs/papers/lead.md §8). Adam's ``beta1`` plays the momentum's role;
    no separate heavy-ball term. With ``alpha = 0`` this is alternating Adam, the baseline.

    Parameters
    ----------
    params : iterable of dict
        Param groups with ``role``; per-group ``lr``, ``betas``, ``eps``, ``alpha`` allowed
        (e.g. discriminator betas (0.55, 0.9), generator (0.5, 0.9) as in the reference).
    lr : float
    betas : tuple of float
        Adam's ``(beta1, beta2)``, each in [0, 1).
    eps : float
    alpha : float
        Coupling strength (reference 8-Gaussian script: 0.6).
    first : {"max", "min"}, default "max"
        Which player steps first (the reference: discriminator, the "max" role, first).
    """

    _CHECKS = {"lr": "lr", "eps": "lr", "alpha": "finite"}

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.5, 0.9),
        eps: float = 1e-8,
        alpha: float = 0.6,
        first: str = "max",
    ) -> None:
        if first not in _ROLES:
            raise ValueError(f"first must be 'min' or 'max', got {first!r}")
        self.order = (first, "min" if first == "max" else "max")
        self._check_betas(betas)
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "alpha": alpha})

    @staticmethod
    def _check_betas(betas: Any) -> None:
        try:
            b1, b2 = (float(b) for b in betas)
        except (TypeError, ValueError):
            raise ValueError(f"betas must be a pair of numbers in [0, 1), got {betas!r}") from None
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"betas must be a pair of numbers in [0, 1), got {betas!r}")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a param group after checking ``role``, ``lr``, ``betas``, ``eps`` and ``alpha``."""
        if isinstance(param_group, dict) and "betas" in param_group:
            self._check_betas(param_group["betas"])
        super().add_param_group(param_group)

    def _player_step(self, closure: Callable[[], Any], role: str) -> Any:
        other = "max" if role == "min" else "min"
        out = self._call(closure)
        coupled = any(g["alpha"] != 0.0 for g in self.param_groups if g["role"] == role)
        if coupled:
            v = self._field(out, (role, other), create_graph=True)
            d_other = [p.detach() - self._prev(p) for p in self._params(other)]
            cross = self._cross(v[other], d_other, role)
        else:
            v = self._field(out, (role,))
            cross = None
        with torch.no_grad():
            for i, ((p, g), gp) in enumerate(zip(self._groups(role), v[role])):
                st = self.state[p]
                self._prev(p).copy_(p)
                direction = gp.detach() if cross is None else F.lead_direction(gp.detach(), cross[i], alpha=g["alpha"])
                if "exp_avg" not in st:
                    st["exp_avg"] = torch.zeros_like(p)
                    st["exp_avg_sq"] = torch.zeros_like(p)
                    st["step"] = 0
                st["step"] += 1
                b1, b2 = g["betas"]
                F.adam_update_(p, direction, st["exp_avg"], st["exp_avg_sq"], st["step"], lr=g["lr"], beta1=b1,
                               beta2=b2, eps=g["eps"])
        return out

    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """One iteration: the ``first`` player's step, then the other's at the updated weights.

        Returns
        -------
        The closure's value before the first player's step (detached).
        """
        out = self._player_step(closure, self.order[0])
        self._player_step(closure, self.order[1])
        return self._value(out)

