"""Neural feature alignment (arXiv:2008.00938): the tangent kernel and its alignment with the labels."""

from __future__ import annotations

from neurodyn.alignment.kernel import (
    alignment_numerator,
    center_kernel,
    centered_alignment,
    cumulative_spectrum,
    effective_rank,
    tangent_kernel,
)

__all__ = ["tangent_kernel", "center_kernel", "centered_alignment", "alignment_numerator", "effective_rank",
           "cumulative_spectrum"]
