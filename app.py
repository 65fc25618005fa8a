"""neurodyn lab dashboard: `streamlit run app.py`.

Navigation lists the home page, the page of every registered paper (``registry.papers()``, one per paper package) and
the stored runs (the run registry, ``pages/runs.py``).
Expensive one-off costs (numba's JIT behind UMAP) are paid once per process in the background at start-up.
"""

from __future__ import annotations

import streamlit as st

from neurodyn.core import registry
from neurodyn.ui.warmup import start_warmup

st.set_page_config(page_title="neurodyn lab", page_icon="🧠", layout="wide")
start_warmup()

pages = [st.Page("pages/home.py", title="Home", icon="🏠", default=True)]
pages += [st.Page(f"pages/{p.page}", title=p.short, icon=p.icon, url_path=p.key) for p in registry.papers()]
pages.append(st.Page("pages/runs.py", title="Stored runs", icon="🗂️", url_path="runs"))
st.navigation(pages).run()
