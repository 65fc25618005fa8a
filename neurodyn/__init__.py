"""neurodyn: live, tested reproductions of ten papers on neural dynamics, attention and optimal transport.

Importing ``neurodyn`` is cheap: it pulls in no torch, streamlit, umap or scanpy. The paper packages
(``neurodyn.lead``, ``neurodyn.lyapunov``, ``neurodyn.attention``, ``neurodyn.udemd``, ...) and the
experiment registry (``neurodyn.core.registry``) are imported on demand.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
