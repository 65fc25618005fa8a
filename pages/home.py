"""Home: the ten papers, what each page shows, and which pages are ready."""

import streamlit as st

from neurodyn.core import registry
from neurodyn.core.jobs import get_manager
from neurodyn.ui.warmup import STATUS_PREFIX, WARMUP_DONE, warmup_state

st.title("🧠 neurodyn lab")
st.markdown(
    "Ten papers on neural dynamics, attention, optimisation and optimal transport, each reproduced **live**: a page "
    "trains small models on this server while you watch, from a preset that finishes in under a minute on two CPU "
    "cores. Every number is computed here; the library behind the pages is tested against closed forms and exact "
    "oracles."
)

# Papers whose package is not written yet: (title, arXiv id, claim). Each moves to its own package's SPEC when built.
PLANNED = ()  # every planned paper has its page now

ready = registry.papers()
st.subheader(f"Papers ({len(ready)} of {len(ready) + len(PLANNED)} pages ready)")
for paper in ready:
    with st.container(border=True):
        left, right = st.columns([5, 2])
        left.markdown(f"**{paper.icon} {paper.title}**  \n[arXiv:{paper.arxiv}]({paper.url}) · {paper.claim}")
        right.page_link(f"pages/{paper.page}", label=f"Open: {paper.short}", icon="▶️")
for title, arxiv, claim in PLANNED:
    with st.container(border=True):
        left, right = st.columns([5, 2])
        left.markdown(f"**📄 {title}**  \n[arXiv:{arxiv}](https://arxiv.org/abs/{arxiv}) · {claim}")
        right.caption("Planned: the page is not built yet.")

mgr, warm = get_manager(), warmup_state()
st.caption(
    f"{STATUS_PREFIX} {mgr.n_running} run(s) training, {mgr.n_queued} queued, {mgr.max_running} worker slot(s). "
    + (f"{WARMUP_DONE} ({warm.seconds:.0f} s)." if warm.done.is_set()
       else "Start-up warm-up (worker processes, numba JIT) still running in the background; the first run may wait.")
)
