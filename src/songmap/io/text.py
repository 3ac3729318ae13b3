"""Text fit to show people, from names that may not be valid UTF-8."""

from __future__ import annotations

__all__ = ["display_text"]


def display_text(text: str) -> str:
    """``text`` fit to show people: bytes of a file name that are not UTF-8 become U+FFFD.

    Python keeps such bytes as lone surrogates (``\\udce9``) so the name still opens the
    file; they cannot be written as UTF-8, so titles, CSV cells and console lines use this.

    Examples
    --------
    >>> display_text("Caf\\udce9.ogg")
    'Caf\\ufffd.ogg'
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
