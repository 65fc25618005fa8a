"""The figures' redraw clock of a live view: 2 s while the server trains one run, slower while others train too."""

from __future__ import annotations

import importlib
import types

import pytest

live = importlib.import_module("neurodyn.ui.live")  # the module (``neurodyn.ui.live`` the attribute is the function)


@pytest.mark.parametrize("running, every, expected", [
    (0, 2.0, 2.0), (1, 2.0, 2.0), (2, 2.0, live.BUSY_FIGURES_EVERY_S), (5, 2.0, live.BUSY_FIGURES_EVERY_S),
    (2, 8.0, 8.0),  # a page that asked for a slower clock keeps it
])
def test_figures_period_follows_the_number_of_running_jobs(monkeypatch, running, every, expected):
    monkeypatch.setattr(live, "get_manager", lambda: types.SimpleNamespace(n_running=running))
    assert live.figures_period(every) == expected
