"""Suite-wide settings: one torch thread (small models on a shared 2-core machine), a fixed numba cache."""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.path.dirname(__file__), "..", ".numba_cache"))
warnings.filterwarnings("ignore", message=".*render_modes.*")

import torch  # noqa: E402

torch.set_num_threads(1)
