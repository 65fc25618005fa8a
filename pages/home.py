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

ready = [p for p in registry.PAPERS if p.page]
st.subheader(f"Papers ({len(ready)} of {len(registry.PAPERS)} pages ready)")
for paper in registry.PAPERS:
    with st.container(border=True):
        left, right = st.columns([5, 2])
        left.markdown(f"**{paper.icon} {paper.title}**  \n"
                      f"[arXiv:{paper.arxiv}](https://arxiv.org/abs/{paper.arxiv}) · {paper.claim}")
        if paper.page:
            right.page_link(f"pages/{paper.page}", label=f"Open: {paper.short}", icon="▶️")
        else:
            right.caption("Planned: the page is not built yet.")

mgr, warm = get_manager(), warmup_state()
st.caption(
    f"{STATUS_PREFIX} {mgr.n_running} run(s) training, {mgr.n_queued} queued, {mgr.max_running} worker slot(s). "
    + (f"{WARMUP_DONE} ({warm.seconds:.0f} s)." if warm.done.is_set()
       else "Start-up warm-up (worker processes, numba JIT) still running in the background; the first run may wait.")
)
