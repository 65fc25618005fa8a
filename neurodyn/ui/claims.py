"""The claim checks of a run, drawn beside its live figures: one line per claim with its verdict, value and source."""

from __future__ import annotations

from typing import Any, Sequence

import streamlit as st

from neurodyn.core.spec import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, Claim, ClaimResult

__all__ = ["claims_panel", "claim_line", "BADGES"]

#: How each verdict is shown: an icon and the verdict in words (never colour alone).
BADGES = {REPRODUCED: "✅ reproduced", NOT_REPRODUCED: "❌ not reproduced", INCONCLUSIVE: "⏳ inconclusive"}


def _number(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.4g}"


def claim_line(claim: Claim, result: ClaimResult | None) -> str:
    """One claim as a markdown line: verdict, claim, measured value against the rule, source, paper's number.

    Parameters
    ----------
    claim : Claim
    result : ClaimResult or None
        None before any run.

    Returns
    -------
    str
    """
    if result is None:
        head, body = "⏳ waiting for a run", ""
    else:
        head = BADGES[result.verdict]
        body = f" Measured **{_number(result.measured)}**" + (f" (rule: {result.threshold})" if result.threshold
                                                                else "") + "."
        body += f" {result.detail}" if result.detail else ""
    paper = f" Paper's number: {claim.paper_value}." if claim.paper_value else " The paper prints no number for this."
    return f"**{head}** · {claim.text}{body}  \n<small>Source: {claim.source}.{paper}</small>"


def claims_panel(claims: Sequence[Claim], records: Sequence[Any] | None, config: Any, *, key: str) -> None:
    """Draw the claim checks of one run (or, with ``records=None``, the claims a run will be judged on).

    Parameters
    ----------
    claims : sequence of Claim
    records : sequence of Record or None
    config : the run's config (the one it was started with, never the sidebar's current one)
    key : str
        The live panel's key (a page may have several panels); the box is keyed ``"{key}-claim-checks"``.
    """
    if not claims:
        return
    with st.container(border=True, key=f"{key}-claim-checks"):
        st.markdown("**Claim checks** · " + ("judged live on this run's records" if records is not None
                                             else "what a run will be judged on"))
        for c in claims:
            st.markdown(claim_line(c, None if records is None else c.evaluate(records, config)),
                        unsafe_allow_html=True)
