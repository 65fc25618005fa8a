"""Visual world models of the causal-induction benchmark (Ke et al. 2021, paper card §2.5-2.6 and §3 SMALL preset).

An encoder maps an RGB image to one latent per object, z of shape (B, N, D); a transition predicts the next latent
as a difference, z' = z + f(z, a), for a discrete action a = object * A + sub-action. Three transition kinds:

* ``"monolithic"`` (the paper's AE): one MLP transition on the flattened latent (N * D) and the whole one-hot action;
  its encoder is one MLP on all slot maps at once, so the slots are not tied to objects.
* ``"modular"``: N MLP transitions, module k sees the whole latent and action and writes slot k only. They are run as
  grouped layers (weights stacked as (N, in, out), one batched matrix product per layer), not as N module calls.
* ``"gnn"`` (C-SWM): an edge MLP on every ordered pair [z_i, z_j], i != j, summed into node i, and a node MLP on
  [z_i, sum_j e_ij, a_i], where a_i is object i's slice of the one-hot action. ``action_aware=True`` (a project
  extension, not in the paper) appends the sender's action slice a_j to the edge input, so a node sees an intervention
  on another object in the same step.

Sizes default to the SMALL preset (§3): 4 sigmoid maps per slot, encoder width 64, D = 4, transition width 128, and no
BatchNorm. All weights are drawn from an explicit ``torch.Generator`` (never the global RNG): Conv2d weights
Xavier-uniform with zero biases, linear layers PyTorch's default U(+-1/sqrt(fan_in)), LayerNorm 1 and 0.
:func:`contrastive_loss` is the C-SWM hinge with the optional "effect negative", and
:func:`reference_parameter_count` counts the reference modules at the paper's sizes by hand.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neurodyn.causal.envs import grid_size  # the worlds' layout: the encoder's grid is theirs

__all__ = ["KINDS", "WorldModel", "contrastive_loss", "reconstruction_loss", "energy", "grid_size",
           "reference_parameter_count"]

KINDS = ("monolithic", "modular", "gnn")


def energy(x: Tensor, y: Tensor, sigma: float = 0.5) -> Tensor:
    """C-SWM energy H(x, y) = (1 / (2 sigma^2)) * mean over slots of ||x_k - y_k||^2.

    Parameters
    ----------
    x, y : Tensor, shape (B, N, D)
    sigma : float, default 0.5

    Returns
    -------
    Tensor, shape (B,)

    Examples
    --------
    >>> energy(torch.zeros(1, 2, 3), torch.ones(1, 2, 3)).tolist()  # 2 * mean(3, 3)
    [6.0]
    """
    return (x - y).pow(2).sum(-1).mean(-1) / (2.0 * sigma ** 2)


# ----------------------------------------------------------------------------------------------------- initialisation


def _uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator) -> Tensor:
    """U(-bound, bound) drawn from ``generator``."""
    return (torch.rand(shape, generator=generator) * 2 - 1) * bound


def _linear(d_in: int, d_out: int, generator: torch.Generator) -> nn.Linear:
    """``nn.Linear`` with PyTorch's default initialisation (weight and bias U(+-1/sqrt(d_in))) from ``generator``."""
    layer = nn.utils.skip_init(nn.Linear, d_in, d_out)
    with torch.no_grad():
        layer.weight.copy_(_uniform((d_out, d_in), 1 / math.sqrt(d_in), generator))
        layer.bias.copy_(_uniform((d_out,), 1 / math.sqrt(d_in), generator))
    return layer


def _conv(c_in: int, c_out: int, kernel: int, stride: int, generator: torch.Generator, *,
          transposed: bool = False) -> nn.Conv2d | nn.ConvTranspose2d:
    """``nn.Conv2d`` (or ``nn.ConvTranspose2d``) with Xavier-uniform weights (gain 1) from ``generator`` and zero
    biases (reference init)."""
    cls = nn.ConvTranspose2d if transposed else nn.Conv2d
    layer = nn.utils.skip_init(cls, c_in, c_out, kernel, stride=stride)
    bound = math.sqrt(6.0 / ((c_in + c_out) * kernel * kernel))
    with torch.no_grad():
        layer.weight.copy_(_uniform(tuple(layer.weight.shape), bound, generator))
        layer.bias.zero_()
    return layer


def _mlp(d_in: int, width: int, d_out: int, generator: torch.Generator) -> nn.Sequential:
    """The reference's 3-layer MLP: Linear(d_in->W) ReLU Linear(W->W) LayerNorm ReLU Linear(W->d_out)."""
    return nn.Sequential(_linear(d_in, width, generator), nn.ReLU(), _linear(width, width, generator),
                         nn.LayerNorm(width), nn.ReLU(), _linear(width, d_out, generator))


# -------------------------------------------------------------------------------------------------------- transitions


class _GroupedMLPTransition(nn.Module):
    """G independent copies of the reference ``MLPTransition`` as grouped layers (G = 1: the monolithic one).

    Per group: u = [Linear_a(a), Linear_s(s)] (each -> h) -> ReLU -> Linear(2h->h) -> LayerNorm -> ReLU ->
    Linear(h->2h) -> LayerNorm -> ReLU -> Linear(2h->out). All groups see the same s and a; group g writes its own
    ``out`` values. Weights are stacked as (G, in, out) and every layer is one (batched) matrix product, so the
    parameters of group g only ever touch output group g.

    Parameters
    ----------
    groups : int
    state_dim, action_dim, hidden, out_dim : int
    generator : torch.Generator
    """

    def __init__(self, groups: int, state_dim: int, action_dim: int, hidden: int, out_dim: int,
                 generator: torch.Generator) -> None:
        super().__init__()
        self.groups, self.hidden, self.out_dim = groups, hidden, out_dim
        shapes = {"a": (action_dim, hidden), "s": (state_dim, hidden), "1": (2 * hidden, hidden),
                  "2": (hidden, 2 * hidden), "3": (2 * hidden, out_dim)}
        for name, (d_in, d_out) in shapes.items():  # the reference's layer order: a, s, then the trunk
            bound = 1 / math.sqrt(d_in)
            weight = _uniform((groups, d_out, d_in), bound, generator).transpose(1, 2).contiguous()
            setattr(self, f"weight_{name}", nn.Parameter(weight))  # (G, d_in, d_out)
            setattr(self, f"bias_{name}", nn.Parameter(_uniform((groups, d_out), bound, generator)))
        self.norm1_weight, self.norm1_bias = nn.Parameter(torch.ones(groups, hidden)), nn.Parameter(
            torch.zeros(groups, hidden))
        self.norm2_weight, self.norm2_bias = nn.Parameter(torch.ones(groups, 2 * hidden)), nn.Parameter(
            torch.zeros(groups, 2 * hidden))

    @property
    def last_layer(self) -> tuple[nn.Parameter, nn.Parameter]:
        """Weight (G, 2h, out) and bias (G, out) of the output layer."""
        return self.weight_3, self.bias_3

    @staticmethod
    def _shared(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
        """One input (B, d_in) through G layers at once: (G, B, d_out), a single matrix product."""
        g, d_in, d_out = weight.shape
        out = x @ weight.permute(1, 0, 2).reshape(d_in, g * d_out)  # (B, G * d_out)
        return out.view(x.shape[0], g, d_out).transpose(0, 1) + bias[:, None, :]

    def forward(self, state: Tensor, action: Tensor) -> Tensor:
        """The groups' outputs.

        Parameters
        ----------
        state : Tensor, shape (B, state_dim)
        action : Tensor, shape (B, action_dim)
            One-hot action.

        Returns
        -------
        Tensor, shape (B, G, out_dim)
        """
        u = torch.cat([self._shared(action, self.weight_a, self.bias_a),
                       self._shared(state, self.weight_s, self.bias_s)], dim=-1).relu()  # (G, B, 2h)
        h = torch.baddbmm(self.bias_1[:, None, :], u, self.weight_1)  # (G, B, h)
        h = F.layer_norm(h, (self.hidden,)) * self.norm1_weight[:, None, :] + self.norm1_bias[:, None, :]
        h = torch.baddbmm(self.bias_2[:, None, :], h.relu(), self.weight_2)  # (G, B, 2h)
        h = F.layer_norm(h, (2 * self.hidden,)) * self.norm2_weight[:, None, :] + self.norm2_bias[:, None, :]
        out = torch.baddbmm(self.bias_3[:, None, :], h.relu(), self.weight_3)  # (G, B, out)
        return out.transpose(0, 1)


class _GNNTransition(nn.Module):
    """C-SWM message passing over the complete graph without self-loops.

    e_ij = edge_mlp([z_i, z_j] (+ a_j if action-aware)) for i != j; out_i = node_mlp([z_i, sum_{j != i} e_ij, a_i]).
    Edge MLP: Linear(2D(+A)->H) ReLU Linear(H->H) LayerNorm ReLU Linear(H->H); node MLP: Linear(D+H+A->H) ReLU
    Linear(H->H) LayerNorm ReLU Linear(H->D). The N(N-1) ordered pairs are formed by gathering, for every node i, the
    other N-1 slots with a fixed (N, N-1) index, so the edge MLP runs once on a (B, N, N-1, 2D) tensor and the sum
    over senders is a reduction over the third axis.

    Parameters
    ----------
    n_objects, latent_dim, actions_per_object, hidden : int
    action_aware : bool
    generator : torch.Generator
    """

    def __init__(self, n_objects: int, latent_dim: int, actions_per_object: int, hidden: int, action_aware: bool,
                 generator: torch.Generator) -> None:
        super().__init__()
        self.action_aware = action_aware
        edge_in = 2 * latent_dim + (actions_per_object if action_aware else 0)
        self.edge_mlp = nn.Sequential(_linear(edge_in, hidden, generator), nn.ReLU(),
                                      _linear(hidden, hidden, generator), nn.LayerNorm(hidden), nn.ReLU(),
                                      _linear(hidden, hidden, generator))
        self.node_mlp = _mlp(latent_dim + hidden + actions_per_object, hidden, latent_dim, generator)
        others = torch.arange(n_objects).repeat(n_objects, 1)
        others = others[~torch.eye(n_objects, dtype=torch.bool)].view(n_objects, max(n_objects - 1, 0))
        self.register_buffer("senders", others, persistent=False)  # (N, N-1): senders[i] = all j != i

    @property
    def last_layer(self) -> tuple[nn.Parameter, nn.Parameter]:
        """Weight (D, H) and bias (D,) of the node MLP's output layer."""
        return self.node_mlp[-1].weight, self.node_mlp[-1].bias

    def forward(self, z: Tensor, action: Tensor) -> Tensor:
        """Per-node outputs.

        Parameters
        ----------
        z : Tensor, shape (B, N, D)
        action : Tensor, shape (B, N, A)
            One-hot action split into per-object slices.

        Returns
        -------
        Tensor, shape (B, N, D)
        """
        b, n, d = z.shape
        receiver = z[:, :, None, :].expand(b, n, n - 1, d)
        sender = z[:, self.senders]  # (B, N, N-1, D)
        parts = [receiver, sender] + ([action[:, self.senders]] if self.action_aware else [])
        messages = self.edge_mlp(torch.cat(parts, dim=-1)).sum(2)  # (B, N, H)
        return self.node_mlp(torch.cat([z, messages, action], dim=-1))


# -------------------------------------------------------------------------------------------------------- world model


class WorldModel(nn.Module):
    """Object encoder and difference-predicting transition (``"monolithic"``, ``"modular"`` or ``"gnn"``).

    Encoder (SMALL preset): Conv(3->32, kernel = stride = cell) -> LeakyReLU -> Conv(32 -> maps_per_slot * N, 1x1)
    -> sigmoid gives maps_per_slot maps of g x g per object (slot k owns channels k*maps .. (k+1)*maps - 1); then
    structured kinds apply one MLP to every slot (shared weights: Linear(maps*g*g->W) ReLU Linear(W->W) LayerNorm ReLU
    Linear(W->D)), the monolithic kind one MLP of the same layout to all maps flattened, out N * D, reshaped to
    (N, D). The grid is g = ``grid_size(N)`` = ceil(sqrt(N)) + 1 unless ``grid`` is given, and the cell is
    image_shape[1] // g (image (3, 15, 15) with N = 3: g = 3, cell 5).

    Parameters
    ----------
    kind : {"monolithic", "modular", "gnn"}
    n_objects : int
        N, number of object slots.
    actions_per_object : int
        A; the action space is N * A and action a acts on object a // A.
    image_shape : tuple of int
        (3, H, W) with H = W = g * cell.
    latent_dim : int, default 4
        D per object.
    maps_per_slot : int, default 4
    encoder_width : int, default 64
    transition_width : int, default 128
        h of the monolithic MLP transition and H of the GNN; the modular kind uses max(transition_width // N, 16)
        per module.
    action_aware : bool, default False
        GNN only: append the sender's action slice to the edge input (project extension).
    generator : torch.Generator, optional
        Source of every initial weight; a fresh generator seeded with 0 when omitted (the global RNG is never used).
    grid : int, optional
        Cells per side, overriding ceil(sqrt(N)) + 1 (e.g. to match an environment with a different layout).
    decoder : bool, default False
        Add an image decoder for :func:`reconstruction_loss`: the encoder's layers mirrored, an MLP from each slot's
        latent (the flat latent for the monolithic kind) to its maps, then ConvTranspose(maps * N -> 32, kernel =
        stride = cell) -> ReLU -> Conv(32 -> 3, 1x1) giving pixel logits (card §2.5's decoder at the SMALL sizes).

    Attributes
    ----------
    extractor : nn.Sequential
        The convolutional slot-map extractor.
    object_encoder : nn.Sequential
        The slot MLP (structured kinds) or the flat MLP (monolithic).
    transition_net : nn.Module
        The transition f(z, a) (grouped MLP transition or GNN).
    """

    def __init__(self, kind: str, n_objects: int, actions_per_object: int, image_shape: tuple[int, int, int], *,
                 latent_dim: int = 4, maps_per_slot: int = 4, encoder_width: int = 64, transition_width: int = 128,
                 action_aware: bool = False, generator: torch.Generator | None = None, grid: int | None = None,
                 decoder: bool = False) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
        if n_objects < 1 or actions_per_object < 1:
            raise ValueError("n_objects and actions_per_object must be >= 1")
        if action_aware and kind != "gnn":
            raise ValueError("action_aware applies to the gnn kind only")
        channels, height, width = image_shape
        g = grid_size(n_objects) if grid is None else int(grid)
        if channels != 3 or height != width or g < 1 or height % g:
            raise ValueError(f"image_shape must be (3, g*cell, g*cell) with g = {g}, got {tuple(image_shape)}")
        gen = torch.Generator().manual_seed(0) if generator is None else generator
        self.kind, self.n_objects, self.actions_per_object = kind, n_objects, actions_per_object
        self.latent_dim, self.maps_per_slot, self.grid, self.cell = latent_dim, maps_per_slot, g, height // g
        self.action_aware = action_aware
        self.extractor = nn.Sequential(_conv(3, 32, self.cell, self.cell, gen), nn.LeakyReLU(),
                                       _conv(32, maps_per_slot * n_objects, 1, 1, gen), nn.Sigmoid())
        slot_in = maps_per_slot * g * g
        if kind == "monolithic":
            self.object_encoder = _mlp(n_objects * slot_in, encoder_width, n_objects * latent_dim, gen)
        else:
            self.object_encoder = _mlp(slot_in, encoder_width, latent_dim, gen)
        n_actions = n_objects * actions_per_object
        if kind == "monolithic":
            self.transition_net = _GroupedMLPTransition(1, n_objects * latent_dim, n_actions, transition_width,
                                                        n_objects * latent_dim, gen)
        elif kind == "modular":
            self.transition_net = _GroupedMLPTransition(n_objects, n_objects * latent_dim, n_actions,
                                                        max(transition_width // n_objects, 16), latent_dim, gen)
        else:
            self.transition_net = _GNNTransition(n_objects, latent_dim, actions_per_object, transition_width,
                                                 action_aware, gen)
        self.object_decoder: nn.Module | None = None
        self.image_decoder: nn.Module | None = None
        if decoder:
            if kind == "monolithic":
                self.object_decoder = _mlp(n_objects * latent_dim, encoder_width, n_objects * slot_in, gen)
            else:
                self.object_decoder = _mlp(latent_dim, encoder_width, slot_in, gen)
            upsample = _conv(maps_per_slot * n_objects, 32, self.cell, self.cell, gen, transposed=True)
            self.image_decoder = nn.Sequential(upsample, nn.ReLU(), _conv(32, 3, 1, 1, gen))

    def encode(self, obs: Tensor) -> Tensor:
        """Latent of every object.

        Parameters
        ----------
        obs : Tensor, shape (B, 3, H, W)

        Returns
        -------
        Tensor, shape (B, N, D)
        """
        maps = self.extractor(obs)  # (B, maps * N, g, g)
        b = maps.shape[0]
        if self.kind == "monolithic":
            return self.object_encoder(maps.reshape(b, -1)).view(b, self.n_objects, self.latent_dim)
        return self.object_encoder(maps.reshape(b, self.n_objects, -1))

    def decode(self, z: Tensor) -> Tensor:
        """Pixel logits of the image a latent stands for (models built with ``decoder=True``).

        Parameters
        ----------
        z : Tensor, shape (B, N, D)

        Returns
        -------
        Tensor, shape (B, 3, H, W)
        """
        if self.object_decoder is None or self.image_decoder is None:
            raise ValueError("this world model has no decoder: build it with decoder=True")
        b = z.shape[0]
        flat = z.reshape(b, -1) if self.kind == "monolithic" else z
        maps = self.object_decoder(flat).reshape(b, self.maps_per_slot * self.n_objects, self.grid, self.grid)
        return self.image_decoder(maps)

    def action_one_hot(self, action: Tensor) -> Tensor:
        """One-hot actions.

        Parameters
        ----------
        action : Tensor of int64, shape (B,)
            Values in [0, N * A).

        Returns
        -------
        Tensor, shape (B, N * A), the dtype of the model's parameters
        """
        dtype = self.object_encoder[0].weight.dtype
        return F.one_hot(action.long(), self.n_objects * self.actions_per_object).to(dtype)

    def transition(self, z: Tensor, action: Tensor) -> Tensor:
        """One step z' = z + f(z, a).

        Parameters
        ----------
        z : Tensor, shape (B, N, D)
        action : Tensor of int64, shape (B,)

        Returns
        -------
        Tensor, shape (B, N, D)
        """
        b, n, d = z.shape
        a = self.action_one_hot(action)
        if self.kind == "gnn":
            delta = self.transition_net(z, a.view(b, n, self.actions_per_object))
        else:
            delta = self.transition_net(z.reshape(b, n * d), a).reshape(b, n, d)
        return z + delta

    def rollout(self, z: Tensor, actions: Tensor) -> Tensor:
        """k transitions in a row.

        Parameters
        ----------
        z : Tensor, shape (B, N, D)
        actions : Tensor of int64, shape (B, k)

        Returns
        -------
        Tensor, shape (B, N, D), the latent after the k-th action
        """
        for step in range(actions.shape[1]):
            z = self.transition(z, actions[:, step])
        return z


# --------------------------------------------------------------------------------------------------------------- loss


def contrastive_loss(model: WorldModel, obs: Tensor, action: Tensor, next_obs: Tensor, *, gamma: float = 1.0,
                     sigma: float = 0.5, effect_negative: bool = True,
                     generator: torch.Generator | None = None) -> tuple[Tensor, dict[str, float]]:
    """C-SWM hinge loss, optionally with the "effect negative" of the SMALL preset.

    L = mean_b H(z_hat', z') + mean_b max(0, gamma - H(z, z~)) [+ mean over changed b of max(0, gamma - H(z, z'))],
    with z = enc(obs), z' = enc(next_obs), z_hat' = transition(z, a) and z~ = z of the batch permuted by
    ``torch.randperm(B, generator=generator)``. The effect term averages over the transitions whose image changed
    (any pixel differs) and is 0 when none did. Both images are encoded in one batch (the encoder has no BatchNorm).

    Parameters
    ----------
    model : WorldModel
    obs, next_obs : Tensor, shape (B, 3, H, W)
    action : Tensor of int64, shape (B,)
    gamma : float, default 1.0
        Hinge margin.
    sigma : float, default 0.5
        Energy scale.
    effect_negative : bool, default True
    generator : torch.Generator, optional
        For the negative permutation; torch's default generator when omitted.

    Returns
    -------
    loss : Tensor, scalar
    stats : dict
        "loss", "positive", "hinge", "effect" as floats.
    """
    b = obs.shape[0]
    z, z_next = model.encode(torch.cat([obs, next_obs])).split(b)
    positive = energy(model.transition(z, action), z_next, sigma).mean()
    device = generator.device if generator is not None else z.device
    perm = torch.randperm(b, generator=generator, device=device).to(z.device)
    hinge = (gamma - energy(z, z[perm], sigma)).clamp_min(0).mean()
    effect = z.new_zeros(())
    if effect_negative:
        changed = (obs != next_obs).flatten(1).any(1)
        if bool(changed.any()):
            effect = (gamma - energy(z[changed], z_next[changed], sigma)).clamp_min(0).mean()
    loss = positive + hinge + effect
    stats = {"loss": loss.item(), "positive": positive.item(), "hinge": hinge.item(), "effect": effect.item()}
    return loss, stats


def reconstruction_loss(model: WorldModel, obs: Tensor, action: Tensor,
                        next_obs: Tensor) -> tuple[Tensor, dict[str, float]]:
    """The reference's reconstruction objective in its joint (third-stage) form (card §2.6).

    L = [BCE(dec(z), obs) + BCE(dec(z_hat'), next_obs) + ||z_hat' - z'||²] / B, with z = enc(obs), z' = enc(next_obs),
    z_hat' = transition(z, a), BCE-with-logits and squares summed over pixels and latents. The reference trains this
    in three stages (auto-encoder, then transition, then all); here every part trains jointly from the start.

    Parameters
    ----------
    model : WorldModel
        Built with ``decoder=True``.
    obs, next_obs : Tensor, shape (B, 3, H, W)
        Pixels in [0, 1].
    action : Tensor of int64, shape (B,)

    Returns
    -------
    loss : Tensor, scalar
    stats : dict
        "loss", "reconstruction" (both images) and "latent" as floats.
    """
    b = obs.shape[0]
    z, z_next = model.encode(torch.cat([obs, next_obs])).split(b)
    z_hat = model.transition(z, action)
    recon = (F.binary_cross_entropy_with_logits(model.decode(z), obs, reduction="sum")
             + F.binary_cross_entropy_with_logits(model.decode(z_hat), next_obs, reduction="sum")) / b
    latent = ((z_hat - z_next) ** 2).sum() / b
    loss = recon + latent
    return loss, {"loss": loss.item(), "reconstruction": recon.item(), "latent": latent.item()}


# ---------------------------------------------------------------------------------------------- reference param count


def _linear_count(d_in: int, d_out: int) -> int:
    return d_in * d_out + d_out


def _mlp_count(d_in: int, width: int, d_out: int) -> int:
    """Linear(d_in->W) ReLU Linear(W->W) LayerNorm ReLU Linear(W->d_out)."""
    return _linear_count(d_in, width) + _linear_count(width, width) + 2 * width + _linear_count(width, d_out)


def _mlp_transition_count(state_dim: int, action_dim: int, h: int, out: int) -> int:
    """Linear_a, Linear_s, Linear(2h->h), LayerNorm(h), Linear(h->2h), LayerNorm(2h), Linear(2h->out)."""
    return (_linear_count(action_dim, h) + _linear_count(state_dim, h) + _linear_count(2 * h, h) + 2 * h
            + _linear_count(h, 2 * h) + 2 * (2 * h) + _linear_count(2 * h, out))


PARTS = ("extractor", "object_encoder", "transition", "all")


def reference_parameter_count(kind: str, n_objects: int, actions_per_object: int = 5, hidden: int = 512,
                              latent_dim: int = 128, *, image_size: int = 50, part: str = "all") -> int:
    """Trainable parameters of the reference ``CausalTransitionModel`` (paper sizes), counted by hand from §2.5.

    * extractor ("medium"): Conv(3->32, 9x9, pad 4) -> BatchNorm(32) -> LeakyReLU -> Conv(32->N, 5x5, stride 5) ->
      sigmoid, giving N maps of (image_size / 5)^2 = 100 values (BatchNorm running statistics are buffers);
    * object encoder: Linear(in->H) ReLU Linear(H->H) LayerNorm ReLU Linear(H->out) with in = 100, out = D per slot
      (modular, gnn) or in = N * 100, out = N * D (monolithic = the paper's AE);
    * transition: monolithic one ``MLPTransition`` (s = N*D, a = N*A, h = H, out = N*D); modular N of them with
      h = H // N and out = D; gnn the edge MLP (2D->H->H, LayerNorm, ->H) and node MLP (D+H+A->H->H, LayerNorm, ->D).

    Our SMALL encoder differs (small extractor, no BatchNorm), so whole models cannot match; what can be compared is
    built through our classes at the same sizes: ``WorldModel(kind, N, A, (3, 50, 50), latent_dim=128,
    encoder_width=512, transition_width=512, maps_per_slot=1, grid=10)`` has ``transition_net`` and ``object_encoder``
    with exactly the counts of parts "transition" and "object_encoder" here (the modular kind uses
    max(512 // N, 16) = 512 // N for N <= 32).

    Parameters
    ----------
    kind : {"monolithic", "modular", "gnn"}
    n_objects : int
    actions_per_object : int, default 5
    hidden : int, default 512
    latent_dim : int, default 128
    image_size : int, default 50
        Must be a multiple of 5 (the second convolution has stride 5).
    part : {"extractor", "object_encoder", "transition", "all"}, default "all"

    Returns
    -------
    int

    Examples
    --------
    >>> reference_parameter_count("monolithic", 5, part="transition")
    2050688
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}; expected one of {PARTS}")
    if image_size % 5:
        raise ValueError(f"image_size must be a multiple of 5, got {image_size}")
    n, a, h, d = n_objects, actions_per_object, hidden, latent_dim
    pixels = (image_size // 5) ** 2
    counts = {"extractor": (3 * 32 * 9 * 9 + 32) + 2 * 32 + (32 * n * 5 * 5 + n)}
    if kind == "monolithic":
        counts["object_encoder"] = _mlp_count(n * pixels, h, n * d)
        counts["transition"] = _mlp_transition_count(n * d, n * a, h, n * d)
    else:
        counts["object_encoder"] = _mlp_count(pixels, h, d)
        if kind == "modular":
            counts["transition"] = n * _mlp_transition_count(n * d, n * a, h // n, d)
        else:
            edge = _linear_count(2 * d, h) + _linear_count(h, h) + 2 * h + _linear_count(h, h)
            counts["transition"] = edge + _mlp_count(d + h + a, h, d)
    if part == "all":
        return counts["extractor"] + counts["object_encoder"] + counts["transition"]
    return counts[part]
