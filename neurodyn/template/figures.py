"""The template paper's figure: the loss on a log scale against the closed-form rate's straight line."""

from __future__ import annotations

from typing import Sequence

import altair as alt
import pandas as pd

from neurodyn.core.loop import Record
from neurodyn.template.experiment import METRICS

__all__ = ["loss_chart"]


def loss_chart(records: Sequence[Record], rho: float, *, height: int = 320) -> alt.LayerChart:
    """Training loss per step (log scale) with the line L_0 ρ^(2k) that the closed-form rate predicts.

    Parameters
    ----------
    records : sequence of Record
        Records of one run (at least one).
    rho : float
        The closed-form per-step contraction of the run's config.
    height : int, default 320

    Returns
    -------
    altair.LayerChart
    """
    loss = METRICS[0]
    steps = [r.step for r in records]
    l0 = records[0].metrics[loss.name]
    df = pd.DataFrame({"step": steps * 2,
                       "value": [r.metrics[loss.name] for r in records] + [l0 * rho ** (2 * k) for k in steps],
                       "series": ["measured"] * len(steps) + ["closed-form rate ρ"] * len(steps)})
    return alt.Chart(df).mark_line().encode(
        x=alt.X("step:Q", title="gradient step"),
        y=alt.Y("value:Q", title=loss.title, scale=alt.Scale(type="log")),
        color=alt.Color("series:N", title=None, legend=alt.Legend(orient="top")),
        strokeDash=alt.StrokeDash("series:N", title=None, legend=None),
    ).properties(height=height)
