"""Live runs on a page: Start/Stop, status and progress, a redraw a few times per second, downloads.

Training runs in a worker of :mod:`neurodyn.core.jobs`, never in the script body. While the run is active the status
line (progress and ETA) redraws itself in the browser about twice a second from a file the server keeps up to date
(:mod:`neurodyn.ui.status_feed`), and a fragment reruns every two seconds to redraw the claim checks and figures
(the records taken so far handed to the page's ``draw`` function) and send the job's heartbeat. Stop sets the
job's cancel flag from a button callback; the worker stops after the current step (under a second) and the records
taken so far stay on screen and in the downloads.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable, Sequence

import streamlit as st

from neurodyn.core import registry
from neurodyn.core.jobs import Job, JobLimitError, JobState, get_manager
from neurodyn.core.loop import Record
from neurodyn.ui.charts import reset as reset_charts
from neurodyn.ui.claims import claims_panel
from neurodyn.ui.export import downloads
from neurodyn.ui.status_feed import show as show_status
from neurodyn.ui.status_feed import status_line

__all__ = ["header", "live", "session_id", "current_job", "page_status_text", "figures_period", "LIVE_CHART_CSS",
           "STATUS_FRAME_CSS", "BUSY_FIGURES_EVERY_S", "registry_notice"]

DrawFn = Callable[[Sequence[Record], Any], Any]


def session_id() -> str:
    """A stable id for this browser session (one job per session)."""
    if "nd.session" not in st.session_state:
        st.session_state["nd.session"] = uuid.uuid4().hex
    return st.session_state["nd.session"]


def header(name: str, *, note: str = "") -> None:
    """Title, the paper's claim in one line, its arXiv link and what this page measures.

    Parameters
    ----------
    name : str
        Registered experiment name (the page's main experiment).
    note : str
        Extra line, e.g. where the page deviates from the paper.
    """
    spec, paper = registry.get(name), registry.paper_of(name)
    st.title(spec.title)
    st.markdown(f"**{paper.title}** ([arXiv:{paper.arxiv}]({paper.url})). {paper.claim}")
    st.caption(
        "Everything on this page is computed here, live, from the settings in the sidebar. Numbers quoted from the "
        "paper are labelled as such; numbers labelled *prototype* were measured on our own prototypes, not "
        "taken from the paper." + (f" {note}" if note else "")
    )


def _slot(key: str) -> str:
    return f"nd.job.{key}"


def current_job(key: str) -> Job | None:
    """The job last started from the live panel ``key`` in this session, if any."""
    return st.session_state.get(_slot(key))


def _connection_probe() -> Callable[[], bool] | None:
    """``alive()`` for this browser session: True while its websocket is connected (None outside a server)."""
    try:
        from streamlit.runtime import get_instance
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx, runtime = get_script_run_ctx(), get_instance()
    except Exception:
        return None
    if ctx is None or runtime is None:
        return None
    sid = ctx.session_id
    return lambda: runtime.is_active_session(sid)


def _start(name: str, config: Any, key: str, build: Callable[[Any], Any] | None) -> None:
    try:
        job = get_manager().submit(name, config, session_id(), build, alive=_connection_probe())
    except JobLimitError as exc:
        st.session_state[_slot(key) + ".error"] = str(exc)
        return
    st.session_state.pop(_slot(key) + ".error", None)
    st.session_state[_slot(key)] = job
    reset_charts()  # the new run's figures must not reuse the last run's cached specs


def registry_notice(manager: Any) -> str | None:
    """Why this server's runs are not being stored in the run registry, or None when they are (or storing is off).

    Parameters
    ----------
    manager : JobManager

    Returns
    -------
    str or None
    """
    error = getattr(manager, "store_error", None)
    if not error:
        return None
    return (f"⚠️ Runs are not being saved on this server: {error} Training works as usual; use the downloads below "
            "to keep a run.")


def _stop(job: Job) -> None:
    job.cancel("stopped by user")


#: CSS selector of a chart drawn by a run, not by a page's pre-run preview (for browser tests and benchmarks).
LIVE_CHART_CSS = '[data-testid="stVegaLiteChart"]:not([class*="-preview"] [data-testid="stVegaLiteChart"])'

#: Redraw period of a live view's figures while other runs train on the same server (seconds).
BUSY_FIGURES_EVERY_S = 5.0


def figures_period(figures_every_s: float) -> float:
    """How often a live view redraws its figures now: ``figures_every_s`` while its run is the only one training on
    this server, at least :data:`BUSY_FIGURES_EVERY_S` while others train too.

    A figure redraw costs the browser tab far more than the status line (about 1.5 s of CPU per redraw on the GAN
    panel, measured on 2026-12-01: Vega re-renders every changed chart), and on a shared instance that CPU is taken
    from the training runs. The status line stays live either way (:mod:`neurodyn.ui.status_feed`).

    Parameters
    ----------
    figures_every_s : float
        The period while the server trains one run.

    Returns
    -------
    float
    """
    busy = get_manager().n_running > 1
    return max(figures_every_s, BUSY_FIGURES_EVERY_S) if busy else figures_every_s


#: CSS selector of the self-redrawing status line of a queued or running run (an iframe; see ``status_feed``).
STATUS_FRAME_CSS = 'iframe[title="neurodyn.ui.status_feed.status"]'


def page_status_text(page: Any) -> str:
    """The text of the first visible status line on a Playwright page (for browser tests and benchmarks).

    A queued or running run's line lives in its own frame (:data:`STATUS_FRAME_CSS`); an ended run's is drawn by
    Streamlit (a progress bar, or a warning or error box).

    Parameters
    ----------
    page : playwright.sync_api.Page

    Returns
    -------
    str
        The line's text, or ``""`` when the page shows none.
    """
    frames = page.locator(STATUS_FRAME_CSS + ":visible")
    if frames.count():
        try:
            return frames.first.content_frame.locator("#nd-text").inner_text(timeout=1000)
        except Exception:  # the frame went away: the run has just ended and the page redraws its final state
            pass
    native = page.locator('[data-testid="stProgress"]:visible, [data-testid="stAlert"]:visible')
    return native.first.inner_text() if native.count() else ""


#: Longest wait, inside a redraw, for a just-started job's first record (seconds).
FIRST_RECORD_WAIT_S = 0.6


def _await_first_record(job: Job) -> None:
    """Hold the first redraw of a fresh job until its first record arrives (at most ``FIRST_RECORD_WAIT_S``).

    The buttons above are already on the page by then; waiting here draws the first chart in the same redraw
    instead of one timer tick (about half a second) later. Only this session's script thread waits; queued jobs
    never wait.
    """
    if time.monotonic() - job.created_at > 2 * FIRST_RECORD_WAIT_S:
        return  # only right after Start: a slow build must not slow the redraws (or a Stop) down
    deadline = time.monotonic() + FIRST_RECORD_WAIT_S
    while time.monotonic() < deadline and not job.n_records and job.state.active:
        if job.state is JobState.QUEUED and time.monotonic() - job.created_at > 0.2:
            return  # waiting for a free slot: draw the queue position now
        time.sleep(0.02)


def _status(job: Job) -> None:
    """Draw ``job``'s status line the Streamlit way (queued and ended runs; see :mod:`neurodyn.ui.status_feed`)."""
    line = status_line(job)
    notice = {"info": st.info, "warning": st.warning, "error": st.error}.get(line["kind"])
    if notice is not None:
        notice(line["text"])
    else:
        st.progress(line["progress"], text=line["text"])


def live(
    name: str,
    config: Any,
    draw: DrawFn,
    *,
    key: str | None = None,
    every_s: float = 0.45,
    figures_every_s: float = 2.0,
    charts: Callable[[Sequence[Record]], dict[str, Any]] | None = None,
    start_label: str = "Start",
    build: Callable[[Any], Any] | None = None,
    preview: Callable[[], None] | None = None,
) -> Job | None:
    """Draw the Start/Stop controls and the live view of experiment ``name`` run with ``config``.

    Parameters
    ----------
    name : str
        Registered experiment name.
    config : dataclass config
        The config from :func:`neurodyn.ui.controls`.
    draw : callable
        ``draw(records, config)``: draws the figures from the records so far and the config the run was started
        with (called on every redraw). It must read the run's settings from ``config``, never from the sidebar:
        the sidebar may have changed since Start.
    key : str, optional
        Distinguishes two live panels on one page; default ``name``.
    every_s : float, default 0.45
        Redraw period of the status line (progress, ETA) while the run is active: a little over 2 Hz, so that the
        redraws' own time still leaves at least two per second. The browser redraws it by itself
        (:mod:`neurodyn.ui.status_feed`); the page does not rerun for it.
    figures_every_s : float, default 2.0
        Redraw period of the claim checks and figures while the run is active and the only one training on the
        server (:func:`figures_period`: longer while others train); they also redraw at once when the run ends.
    charts : callable, optional
        ``charts(records, config) -> {label: altair chart}`` offered as SVG downloads once the run has ended.
    start_label : str
        Label of the start button.
    build : callable, optional
        ``build(config) -> Experiment`` to use instead of the registry's (e.g. an experiment over uploaded data).
    preview : callable, optional
        Draws what the page can show before its first run (e.g. the data the run will be judged on), in the place
        where the live figures will appear, inside a container keyed ``"{key}-preview"``.

    Returns
    -------
    Job or None
        The panel's current job.
    """
    key = key or name
    try:
        claims = registry.paper_of(name).claims_for(name)
    except KeyError:  # an experiment outside the registry (tests) has no claims
        claims = ()
    job = current_job(key)
    active = job is not None and job.state.active
    other = get_manager().job_for(session_id())
    busy_elsewhere = other is not None and other.state.active and other is not job

    c1, c2, c3 = st.columns([1, 1, 4])
    c1.button(f"▶ {start_label}", key=f"{key}.start", type="primary", disabled=active or busy_elsewhere,
              on_click=_start, args=(name, config, key, build), width="stretch")
    c2.button("■ Stop", key=f"{key}.stop", disabled=not active, on_click=_stop, args=(job,),
              width="stretch")
    if busy_elsewhere:
        c3.warning(f"Your run of **{other.name}** is still going; one run per session. Stop it to start this one.")
        st.button("■ Stop that run", key=f"{key}.stop-other", on_click=_stop, args=(other,))
    elif job is not None and not active and job.config != config:
        c3.caption("The settings changed since this run; press Start to run with them.")
    elif job is None:
        c3.caption("Press Start to train with the settings in the sidebar. Stop keeps what was computed.")
    err = st.session_state.get(_slot(key) + ".error")
    if err:
        st.error(err)
    unsaved = registry_notice(get_manager())
    if unsaved:
        st.caption(unsaved)

    # The status line of a queued or running run is a component that redraws itself twice a second from a file the
    # server keeps up to date (neurodyn.ui.status_feed): a Streamlit rerun costs the browser about 0.1 s of CPU
    # however little changes, and at 2 Hz that was most of what an open tab took from the training worker on the
    # same cores. Its fragment reruns when the component reports the end of the run, and then reruns the page once
    # to draw the final figures and buttons. The claim checks and figures redraw every ``figures_every_s`` (they
    # also send the job's heartbeat and notice the end of the run should the component not report it).
    #
    # While another panel's run of this session is going, this panel's buttons are disabled: keep polling so that
    # they come back when that run ends, even when the other panel is not drawn (a closed tab, an upload that is no
    # longer on the page), whose own redraw would otherwise be the only thing that reruns the page.
    @st.fragment(run_every=figures_every_s if busy_elsewhere else None)
    def _status_view() -> None:
        if busy_elsewhere and not active and not other.state.active:
            st.rerun()
        j = current_job(key)
        if j is None:
            return
        j.heartbeat()
        _await_first_record(j)
        if j.state.active:
            show_status(j, key=f"{key}.status", every_ms=round(every_s * 1000))
        else:
            _status(j)
        if active and not j.state.active:  # the run just ended: one full rerun draws the final figures and buttons
            st.rerun()

    period = figures_period(figures_every_s)

    @st.fragment(run_every=period if active else None)
    def _figures_view() -> None:
        j = current_job(key)
        if j is None:
            claims_panel(claims, None, config, key=key)
            if preview is not None:
                with st.container(key=f"{key}-preview"):
                    preview()
            return
        j.heartbeat()
        if active and (not j.state.active or figures_period(figures_every_s) != period):
            st.rerun()  # the run ended, or other runs started or ended: one full rerun sets the redraw clock again
        records = list(j.records)
        claims_panel(claims, records, j.config, key=key)
        if records:
            try:
                draw(records, j.config)
            except Exception as exc:  # a drawing bug must not take the run down
                st.error(f"Could not draw the figures: {type(exc).__name__}: {exc}")
        if not j.state.active and records:
            st.caption("Downloads")
            downloads(name, j.config, records, status=j.state.value, message=j.message, key=f"{key}.",
                      charts=charts(records, j.config) if charts else None, seconds=j.elapsed)

    _status_view()
    _figures_view()
    return job
