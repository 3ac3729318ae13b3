"""Small CSV tables a user writes by hand or in a spreadsheet: metadata.csv and pairs.csv."""

from __future__ import annotations

import codecs
import csv
import io
import os
from pathlib import Path

__all__ = ["MetadataError", "read_metadata", "read_pairs", "read_table"]


class MetadataError(ValueError):
    """metadata.csv cannot be used; the message says why in one line."""


def read_metadata(csv_path: str | os.PathLike) -> list[dict[str, str]]:
    """Read a metadata CSV into rows with lower-cased column names.

    Tolerates what spreadsheets write: a UTF-8 byte-order mark, ``;`` or tab
    separators, Windows line endings, extra columns.

    Parameters
    ----------
    csv_path : str or os.PathLike
        The CSV file; it must have a ``filename`` column (``category``,
        ``title`` and any others are optional).

    Returns
    -------
    list of dict

    Raises
    ------
    MetadataError
        Unreadable file, not text, or no ``filename`` column.
    """
    return read_table(csv_path, required=("filename",), what="metadata")


def read_table(csv_path: str | os.PathLike, required: tuple[str, ...], what: str) -> list[dict[str, str]]:
    """Read a small CSV as :func:`read_metadata` does, requiring the ``required`` columns.

    Rows with an empty required column are dropped. ``what`` names the
    file in error messages ("metadata", "pairs").
    """
    csv_path = Path(csv_path)
    try:
        raw = csv_path.read_bytes()
    except FileNotFoundError:
        raise MetadataError(f"{what} file not found: {csv_path}") from None
    except IsADirectoryError:
        raise MetadataError(f"{what} path is a folder, not a CSV file: {csv_path}") from None
    except OSError as exc:
        raise MetadataError(f"cannot read {what} file {csv_path}: {exc.strerror}") from None
    try:
        if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = raw.decode("utf-16")  # a spreadsheet's "Unicode text" export
        else:
            text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            raise MetadataError(f"{what} file {csv_path} is not UTF-8 text") from None
    if not text.strip():
        raise MetadataError(f"{what} file {csv_path} is empty")
    first_line = text.splitlines()[0]
    delimiter = max([",", ";", "\t"], key=first_line.count)
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
        fieldnames = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
        missing = [c for c in required if c not in fieldnames]
        if missing:
            raise MetadataError(
                f"{what} file {csv_path} has no {', '.join(repr(c) for c in missing)} column"
                f" (columns: {', '.join(fieldnames) or 'none'})"
            )
        reader.fieldnames = fieldnames
        rows = []
        for row in reader:
            cleaned = {k: (v or "").strip() for k, v in row.items() if k is not None and isinstance(v, str)}
            if all(cleaned.get(c) for c in required):
                rows.append(cleaned)
        return rows
    except csv.Error as exc:
        raise MetadataError(f"{what} file {csv_path} is not valid CSV: {exc}") from None


def read_pairs(csv_path: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of a pairs CSV (columns ``a``, ``b``, optional ``kind``), read like metadata.csv.

    Raises
    ------
    MetadataError
        Unreadable file or missing columns.
    """
    return read_table(csv_path, required=("a", "b"), what="pairs")
