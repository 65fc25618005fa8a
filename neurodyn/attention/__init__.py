"""Compositional attention (Mittal et al., ICLR 2022, arXiv:2110.09419): module, toy task, experiment."""

from __future__ import annotations

from neurodyn.attention.compositional import (
    CompositionalAttention,
    MultiHeadAttention,
    compositional_parameter_count,
    mha_parameter_count,
)

__all__ = [
    "CompositionalAttention",
    "MultiHeadAttention",
    "compositional_parameter_count",
    "mha_parameter_count",
]
