"""File uploads that are checked before any work starts and never leave the user's session.

The bytes are read into memory (never written to a shared folder), the size is checked against a cap first, and a
parser from the library turns them into data or raises a ``ValueError`` whose message is shown as it is.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import streamlit as st

__all__ = ["Upload", "upload"]


@dataclass(frozen=True)
class Upload:
    """An accepted upload: its name, size, content hash and parsed value."""

    name: str
    size: int
    sha256: str
    value: Any


def upload(
    label: str,
    parse: Callable[[bytes, str], Any],
    *,
    types: Sequence[str],
    max_mb: float,
    key: str,
    help: str | None = None,  # noqa: A002
    container: Any = None,
) -> Upload | None:
    """Draw a file uploader; validate size and content before returning the parsed value.

    Parameters
    ----------
    label : str
    parse : callable
        ``parse(data, filename) -> value``; raises ``ValueError`` with a message naming the problem.
    types : sequence of str
        Allowed extensions, without dots.
    max_mb : float
        Size cap in MiB, checked before parsing.
    key : str
        Widget key; the parsed value is cached in the session under it.
    help : str, optional
    container : streamlit container, optional

    Returns
    -------
    Upload or None
        None when nothing was uploaded or the file was rejected (the reason is shown).
    """
    box = container if container is not None else st
    f = box.file_uploader(label, type=list(types), key=key, help=help)
    if f is None:
        st.session_state.pop(key + ".parsed", None)
        return None
    if f.size > max_mb * 2**20:
        box.error(f"{f.name} is {f.size / 2**20:.1f} MiB; the limit here is {max_mb:g} MiB. Upload a smaller file.")
        return None
    data = f.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    cached = st.session_state.get(key + ".parsed")
    if cached is not None and cached.sha256 == digest:
        return cached
    try:
        value = parse(data, f.name)
    except ValueError as exc:
        box.error(f"{f.name} was not accepted: {exc}")
        return None
    up = Upload(name=f.name, size=len(data), sha256=digest, value=value)
    st.session_state[key + ".parsed"] = up
    return up
