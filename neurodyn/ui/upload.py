"""File uploads checked off the server's thread, before any work starts; the bytes never leave the user's session.

The bytes are read into memory (never written to a shared folder) and their size is checked against a cap. The
parser then runs in a child process with a memory and a time limit (:mod:`neurodyn.core.sandbox`), never in the
script thread, so a hostile or huge file costs the server nothing and other sessions keep redrawing. While it works
the page shows its progress and a Cancel button (a fragment that polls a few times a second) and :func:`upload`
returns None; when it ends the page reruns once and gets the parsed value, or shows the parser's message. Results
and refusals are remembered in the session for the same file and the same parser arguments.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import streamlit as st

from neurodyn.core.sandbox import Sandbox, Task, hashed_call

__all__ = ["Upload", "upload", "fingerprint", "markdown_safe"]

_DEFAULT: list[Sandbox] = []
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>!|~$#{}])")


@dataclass(frozen=True)
class Upload:
    """An accepted upload: its name, size, content hash and parsed value."""

    name: str
    size: int
    sha256: str
    value: Any


@dataclass
class _Pending:
    token: str
    task: Task
    name: str
    size: int


class _Fingerprinter(pickle.Pickler):
    """Pickles a parser for its fingerprint; objects carrying a ``digest`` string stand in by that digest."""

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, type):
            return None
        digest = getattr(obj, "digest", None)
        if isinstance(digest, str) and digest:
            return ("digest", type(obj).__qualname__, digest)
        return None


def fingerprint(parse: Callable[..., Any]) -> str:
    """A hash of a parser and its bound arguments (``functools.partial``), cheap for large bound data.

    Raises
    ------
    TypeError
        When ``parse`` cannot run in a child process (a lambda or a local function): it must be a module-level
        function or a ``functools.partial`` of one.
    """
    buf = io.BytesIO()
    try:
        _Fingerprinter(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(parse)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise TypeError("ui.upload runs the parser in a child process, so `parse` must be a module-level function "
                        f"or a functools.partial of one (lambdas and local functions do not pickle): {exc}") from None
    return hashlib.sha256(buf.getvalue()).hexdigest()


def markdown_safe(text: str) -> str:
    """``text`` with markdown's special characters escaped, so names from a file cannot render links or images.

    Lines become hard line breaks within one paragraph and ``- `` bullets at line starts become ``•``, so a message
    listing problems stays one block of text.
    """
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", "  \n").replace("  \n- ", "  \n• ")


def _sandbox(sandbox: Sandbox | None) -> Sandbox:
    if sandbox is not None:
        return sandbox
    if not _DEFAULT:
        _DEFAULT.append(Sandbox())
    return _DEFAULT[0]


def _forget(key: str) -> None:
    pend = st.session_state.pop(key + ".task", None)
    if pend is not None:
        pend.task.cancel()
    for suffix in (".parsed", ".refused", ".cancelled"):
        st.session_state.pop(key + suffix, None)


def _cancel(key: str) -> None:
    pend = st.session_state.get(key + ".task")
    if pend is not None:
        pend.task.cancel()


def _retry(key: str) -> None:
    st.session_state.pop(key + ".cancelled", None)
    st.session_state.pop(key + ".refused", None)


def _settle(key: str, pend: _Pending, box: Any) -> Upload | None:
    """Store and show what a finished task produced."""
    st.session_state.pop(key + ".task", None)
    task = pend.task
    name = markdown_safe(pend.name)
    if task.state == "done":
        value, digest = task.value
        up = Upload(name=pend.name, size=pend.size, sha256=digest, value=value)
        st.session_state[key + ".parsed"] = (pend.token, up)
        return up
    if task.state == "cancelled":
        st.session_state[key + ".cancelled"] = pend.token
        _show_cancelled(key, name, box)
        return None
    if task.state == "failed" and isinstance(task.error, ValueError):
        msg = str(task.error)
        if msg.startswith(pend.name):  # the parser names the file too: say it once
            msg = msg[len(pend.name) :].lstrip(": ")
    elif task.state == "failed":  # a bug in the parser, not a problem of the file
        msg = f"the file could not be read ({type(task.error).__name__}: {task.error})"
    else:  # a limit of the checker process
        msg = f"checking it {task.message}"
    st.session_state[key + ".refused"] = (pend.token, msg)
    box.error(f"{name} was not accepted: {markdown_safe(msg)}")
    return None


def _show_cancelled(key: str, name: str, box: Any) -> None:
    box.info(f"Checking {name} was cancelled. Remove the file, choose another, or check it again.")
    box.button("Check it again", key=key + ".retry", on_click=_retry, args=(key,))


def _watch(key: str, seconds: float, poll_s: float) -> None:
    """Progress and Cancel of the pending task, redrawn by a fragment; one full rerun when it ends."""

    @st.fragment(run_every=poll_s)
    def _view() -> None:
        pend = st.session_state.get(key + ".task")
        if pend is None:
            return
        if pend.task.done:
            st.rerun()  # the whole page, so that it sees the result
        fraction, text = pend.task.progress
        state = pend.task.state
        if state == "running":
            line = f"Checking {pend.name}: {text} ({pend.task.elapsed:.0f} s of at most {seconds:g} s)"
        else:
            line = f"{pend.name}: {text}"
        st.progress(fraction, text=markdown_safe(line))
        st.button("Cancel", key=key + ".cancel", on_click=_cancel, args=(key,))

    _view()


def upload(
    label: str,
    parse: Callable[..., Any],
    *,
    types: Sequence[str],
    max_mb: float,
    key: str,
    help: str | None = None,  # noqa: A002 - the name st.file_uploader uses
    container: Any = None,
    sandbox: Sandbox | None = None,
    poll_s: float = 0.5,
) -> Upload | None:
    """Draw a file uploader; check the size, then parse the file in a child process, with progress and Cancel.

    Parameters
    ----------
    label : str
    parse : callable
        ``parse(data, name=filename) -> value``, raising ``ValueError`` with a message naming the problem. It runs
        in a child process, so it must pickle: a module-level function or a ``functools.partial`` of one.
    types : sequence of str
        Allowed extensions, without dots.
    max_mb : float
        Size cap in MiB, checked before parsing.
    key : str
        Widget key; the parsed value is kept in the session under it, for this file and this ``parse``.
    help : str, optional
    container : streamlit container, optional
    sandbox : Sandbox, optional
        The kind of child process to parse in (limits, preloaded modules); default: a generic one.
    poll_s : float
        Seconds between progress redraws while the file is checked.

    Returns
    -------
    Upload or None
        None while nothing is uploaded, while the file is being checked, or when it was rejected (the reason is
        shown, with every problem the parser listed).

    Raises
    ------
    TypeError
        When ``parse`` does not pickle.
    """
    box = container if container is not None else st
    sb = _sandbox(sandbox)
    sb.prewarm()  # a checker process ready before the file arrives
    f = box.file_uploader(label, type=list(types), key=key, help=help)
    if f is None:
        _forget(key)
        return None
    if f.size > max_mb * 2**20:
        _forget(key)
        box.error(f"{markdown_safe(f.name)} is {f.size / 2**20:.1f} MiB; the limit here is {max_mb:g} MiB. Upload a "
                  "smaller file.")
        return None
    token = f"{getattr(f, 'file_id', None) or f.name}:{f.size}:{fingerprint(parse)}"
    state = st.session_state
    done = state.get(key + ".parsed")
    if done is not None and done[0] == token:
        return done[1]
    refused = state.get(key + ".refused")
    if refused is not None and refused[0] == token:
        box.error(f"{markdown_safe(f.name)} was not accepted: {markdown_safe(refused[1])}")
        return None
    pend = state.get(key + ".task")
    if pend is not None and pend.token != token:  # another file or other parser arguments: the old check is moot
        pend.task.cancel()
        pend = None
        state.pop(key + ".task", None)
    if pend is None:
        if state.get(key + ".cancelled") == token:
            _show_cancelled(key, markdown_safe(f.name), box)
            return None
        state.pop(key + ".cancelled", None)
        pend = _Pending(token, sb.submit(hashed_call, parse, f.getvalue(), name=f.name), f.name, f.size)
        state[key + ".task"] = pend
    if pend.task.done:
        return _settle(key, pend, box)
    if container is not None:
        with container:
            _watch(key, sb.limits.seconds, poll_s)
    else:
        _watch(key, sb.limits.seconds, poll_s)
    return None
