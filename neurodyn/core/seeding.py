"""Explicit random generators and device choice.

Every experiment draws its randomness from generators made here from its config seed, so that two runs with the
same seed agree and nothing reads or advances the global ``numpy.random`` or ``torch`` RNG state.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["numpy_generator", "torch_generator", "resolve_device", "derive_seed"]


def numpy_generator(seed: int) -> np.random.Generator:
    """Return a fresh NumPy generator (PCG64) for ``seed``.

    Parameters
    ----------
    seed : int
        Non-negative seed.

    Returns
    -------
    numpy.random.Generator
    """
    return np.random.default_rng(int(seed))


def torch_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """Return a fresh ``torch.Generator`` on ``device`` seeded with ``seed``.

    Parameters
    ----------
    seed : int
        Non-negative seed.
    device : str or torch.device, default "cpu"
        Device of the generator; sampling on CUDA needs a CUDA generator.

    Returns
    -------
    torch.Generator
    """
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g


def derive_seed(seed: int, *keys: int | str) -> int:
    """Derive an independent child seed from ``seed`` and a path of keys (stable across processes).

    Parameters
    ----------
    seed : int
        Parent seed.
    *keys : int or str
        Labels of the child stream, e.g. ``derive_seed(0, "data", 3)``.

    Returns
    -------
    int
        A seed in ``[0, 2**63)``.
    """
    entropy = [int(seed)] + [k if isinstance(k, int) else int.from_bytes(k.encode(), "little") for k in keys]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Map ``"auto"`` to CUDA when available, else CPU; check an explicit choice.

    Parameters
    ----------
    device : str or torch.device, default "auto"
        ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        If CUDA is asked for and not available, or the name is not a device.
    """
    if isinstance(device, torch.device):
        return device
    name = str(device).strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError as exc:
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but CUDA is not available on this machine; use 'auto' or 'cpu'")
    return dev
