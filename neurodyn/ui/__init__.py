"""The only library package that imports streamlit: sidebar controls, live runs, downloads, uploads."""

from __future__ import annotations

from neurodyn.ui.charts import chart
from neurodyn.ui.controls import controls
from neurodyn.ui.export import downloads
from neurodyn.ui.live import current_job, header, live, session_id
from neurodyn.ui.tables import config_table
from neurodyn.ui.upload import Upload, upload
from neurodyn.viz import theme as _theme  # noqa: F401 - registers and enables the legible altair theme

__all__ = ["chart", "config_table", "controls", "current_job", "downloads", "header", "live", "session_id", "upload",
           "Upload"]
