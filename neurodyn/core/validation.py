"""Argument checks shared by the mechanisms: a bad value raises ``ValueError`` naming the argument and the value."""

from __future__ import annotations

__all__ = ["check_positive_ints"]


def check_positive_ints(**values: int) -> None:
    """Raise ``ValueError`` for the first value that is not a positive ``int`` (``bool`` is refused too).

    Examples
    --------
    >>> check_positive_ints(n_heads=2, d_model=0)
    Traceback (most recent call last):
    ...
    ValueError: d_model must be a positive integer, got 0
    """
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
