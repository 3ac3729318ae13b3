"""Small CSV tables a user writes by hand or in a spreadsheet: metadata.csv and pairs.csv.

metadata.csv's columns are found by meaning, not one spelling (:func:`read_metadata`):
the notebooks' ``title,sound-type`` sheet works as well as songmap's ``filename,category``.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from songmap.io.discovery import AUDIO_EXTENSIONS

__all__ = [
    "CATEGORY_COLUMNS",
    "FILE_COLUMNS",
    "MetadataError",
    "MetadataTable",
    "read_metadata",
    "read_pairs",
    "read_table",
]

#: Names of the column that names each file, in the order they are tried: ``filename`` first, then
#: ``file``/``path``, then ``name``/``title`` only when their cells are file names (``song.wav``).
FILE_COLUMNS = ("filename", "file", "path", "name", "title")
#: Names of the category column; ``category`` wins over the others, which must be unique.
CATEGORY_COLUMNS = ("category", "sound-type", "sound_type", "type", "label", "class", "genre")

# Tiers of file-column names (normalised): the first tier with a usable column decides.
_FILE_TIERS = (("filename",), ("file", "filepath", "path"), ("name", "title"))
# Names that count only when most of their cells are file names with an audio extension.
_FILE_BY_CONTENT = frozenset({"name", "title"})


class MetadataError(ValueError):
    """metadata.csv cannot be used; the message says why in one line."""


@dataclass
class MetadataTable:
    """The rows of a metadata CSV and which of its columns mean what.

    Attributes
    ----------
    path : Path
        The CSV file.
    columns : list of str
        Every column name, stripped and lower-cased.
    rows : list of dict
        Rows with lower-cased column names; rows with an empty file cell are dropped.
    file_column : str
        Column naming each row's file (relative path or bare file name).
    category_column : str or None
        Column of categories, None when the sheet has none.
    title_column : str or None
        ``title`` when the sheet has one that is not the file column.
    """

    path: Path
    columns: list[str]
    rows: list[dict[str, str]]
    file_column: str
    category_column: str | None
    title_column: str | None

    def file(self, row: dict[str, str]) -> str:
        """The file a row names, as written in the sheet."""
        return row.get(self.file_column, "")

    def category(self, row: dict[str, str]) -> str | None:
        """A row's category, or None (no category column, or an empty cell)."""
        value = row.get(self.category_column, "").strip() if self.category_column else ""
        return value or None

    def title(self, row: dict[str, str]) -> str | None:
        """A row's title, or None."""
        value = row.get(self.title_column, "").strip() if self.title_column else ""
        return value or None


def read_metadata(
    csv_path: str | os.PathLike,
    *,
    file_column: str | None = None,
    category_column: str | None = None,
) -> MetadataTable:
    """Read a metadata CSV and find its file, category and title columns.

    Tolerates what spreadsheets write: a UTF-8 byte-order mark, UTF-16, cp1252,
    ``;`` or tab separators, Windows line endings, extra columns, column names in
    any case. Columns are found by meaning (names compared in lower case with
    spaces, ``-`` and ``_`` ignored):

    * file column: ``filename``; else the one of ``file``/``path``; else the one
      of ``name``/``title`` whose cells are file names (an audio extension on
      most of them, like the notebooks' ``title`` column of ``.wav`` names);
    * category column: ``category``; else the one of ``sound-type``, ``type``,
      ``label``, ``class``, ``genre``; none is fine;
    * title column: ``title`` unless it is the file column.

    Parameters
    ----------
    csv_path : str or os.PathLike
        The CSV file.
    file_column, category_column : str, optional
        Use these columns instead of guessing (any case).

    Returns
    -------
    MetadataTable

    Raises
    ------
    MetadataError
        One line: unreadable file, not text, not CSV, no file column, two
        columns that could equally be the file (or category) column, or a
        named column that is not there.
    """
    csv_path = Path(csv_path)
    columns, rows = _read_rows(csv_path, "metadata")
    where = f"metadata file {csv_path}"
    chosen_category = _named_column(columns, category_column, where, "--category-column") if category_column else None
    if file_column:
        chosen_file = _named_column(columns, file_column, where, "--file-column")
    else:
        chosen_file = _guess_file_column(columns, rows, where, exclude=chosen_category)
    if chosen_category is not None and chosen_category == chosen_file:
        raise MetadataError(f"{where}: column {chosen_file!r} cannot hold both the file names and the categories")
    if not category_column:
        chosen_category = _guess_column(
            columns, CATEGORY_COLUMNS, where, "categories", "--category-column", exclude=chosen_file
        )
    title = "title" if "title" in columns and chosen_file != "title" and chosen_category != "title" else None
    kept = [row for row in rows if row.get(chosen_file)]
    return MetadataTable(csv_path, columns, kept, chosen_file, chosen_category, title)


def _normalised(name: str) -> str:
    return re.sub(r"[\s_-]+", "", name.lower())


def _named_column(columns: list[str], name: str, where: str, option: str) -> str:
    """The column a user named (any case; spaces, ``-`` and ``_`` ignored when that is unambiguous)."""
    wanted = name.strip().lower()
    if wanted in columns:
        return wanted
    close = [c for c in columns if _normalised(c) == _normalised(wanted)]
    if len(close) == 1:
        return close[0]
    raise MetadataError(f"{where} has no column {name!r} ({option}; columns: {', '.join(columns) or 'none'})")


def _holds_file_names(rows: list[dict[str, str]], column: str) -> bool:
    """Whether most non-empty cells of ``column`` end in an audio extension (``song.wav``)."""
    cells = [row.get(column, "") for row in rows]
    cells = [c for c in cells if c]
    named = sum(1 for c in cells if PurePosixPath(c.replace("\\", "/")).suffix.lower() in AUDIO_EXTENSIONS)
    return bool(cells) and 2 * named >= len(cells)


def _guess_file_column(columns: list[str], rows: list[dict[str, str]], where: str, exclude: str | None) -> str:
    for tier in _FILE_TIERS:
        found = [
            c for c in columns
            if c != exclude and _normalised(c) in tier
            and (_normalised(c) not in _FILE_BY_CONTENT or _holds_file_names(rows, c))
        ]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise MetadataError(
                f"{where} has several columns that could name the files ({', '.join(found)}): "
                "choose one with --file-column"
            )
    raise MetadataError(
        f"{where} has no 'filename' column, nor a file, path, name or title column of file names"
        f" (columns: {', '.join(columns) or 'none'}): choose one with --file-column"
    )


def _guess_column(
    columns: list[str], names: tuple[str, ...], where: str, what: str, option: str, exclude: str | None
) -> str | None:
    """The column called ``names[0]``, else the only one called like the others, else None."""
    wanted = [_normalised(n) for n in names]
    found = [c for c in columns if c != exclude and _normalised(c) == wanted[0]]
    if not found:
        found = [c for c in columns if c != exclude and _normalised(c) in wanted[1:]]
    if len(found) > 1:
        raise MetadataError(f"{where} has several columns that could hold the {what} ({', '.join(found)}): "
                            f"choose one with {option}")
    return found[0] if found else None


def read_table(csv_path: str | os.PathLike, required: tuple[str, ...], what: str) -> list[dict[str, str]]:
    """Read a small CSV as :func:`read_metadata` does, requiring the ``required`` columns.

    Rows with an empty required column are dropped. ``what`` names the
    file in error messages ("metadata", "pairs").
    """
    csv_path = Path(csv_path)
    fieldnames, rows = _read_rows(csv_path, what)
    missing = [c for c in required if c not in fieldnames]
    if missing:
        raise MetadataError(
            f"{what} file {csv_path} has no {', '.join(repr(c) for c in missing)} column"
            f" (columns: {', '.join(fieldnames) or 'none'})"
        )
    return [row for row in rows if all(row.get(c) for c in required)]


def _read_rows(csv_path: Path, what: str) -> tuple[list[str], list[dict[str, str]]]:
    """Column names (stripped, lower case) and rows (cells stripped) of a spreadsheet's CSV."""
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
        reader.fieldnames = fieldnames
        rows = [
            {k: (v or "").strip() for k, v in row.items() if k is not None and isinstance(v, str)}
            for row in reader
        ]
    except csv.Error as exc:
        raise MetadataError(f"{what} file {csv_path} is not valid CSV: {exc}") from None
    return fieldnames, rows


def read_pairs(csv_path: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of a pairs CSV (columns ``a``, ``b``, optional ``kind``), read like metadata.csv.

    Raises
    ------
    MetadataError
        Unreadable file or missing columns.
    """
    return read_table(csv_path, required=("a", "b"), what="pairs")
