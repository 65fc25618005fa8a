"""BRIMs (Mittal et al., ICML 2020, arXiv:2006.16981): layers of recurrent independent mechanisms that attend over
null, bottom-up and top-down inputs and compete to update."""

from __future__ import annotations

from neurodyn.brims.mechanisms import BRIMs, BRIMsLayer, GroupLinear, GroupLSTMCell, LayerTrace

__all__ = ["BRIMs", "BRIMsLayer", "GroupLinear", "GroupLSTMCell", "LayerTrace"]
