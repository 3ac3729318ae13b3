"""A folder of songs with its optional ``metadata.csv``: what will be mapped, with titles and categories."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

from songmap.audio import find_audio_files

__all__ = ["Collection", "MetadataError", "read_metadata", "read_table", "scan_collection"]


class MetadataError(ValueError):
    """metadata.csv cannot be used; the message says why in one line."""


@dataclass
class Collection:
    """Audio files of a folder and what metadata.csv says about them.

    Attributes
    ----------
    root : Path
        The folder.
    files : list of Path
        Audio files to map, sorted.
    metadata : dict
        Relative POSIX path -> metadata row (lower-cased column names) for each file in ``files`` that has one.
    missing_in_folder : list of str
        metadata.csv rows naming files that are not in the folder.
    excluded_by_category : int
        Files left out by a category filter.
    """

    root: Path
    files: list[Path]
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    missing_in_folder: list[str] = field(default_factory=list)
    excluded_by_category: int = 0

    def relative(self, path: Path) -> str:
        """Path of ``path`` relative to the folder, with forward slashes."""
        return Path(os.path.relpath(path, self.root)).as_posix()

    def category(self, path: Path) -> str | None:
        """Category of a file, or None when metadata has none."""
        value = self.metadata.get(self.relative(path), {}).get("category", "").strip()
        return value or None

    def title(self, path: Path) -> str:
        """Title column when metadata has one, otherwise the file name without extension."""
        value = self.metadata.get(self.relative(path), {}).get("title", "").strip()
        return value or path.stem


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


def scan_collection(
    root: str | os.PathLike,
    metadata_path: str | os.PathLike | None = None,
    categories: list[str] | None = None,
    exclude: str | os.PathLike | None = None,
) -> Collection:
    """Find the audio files of a folder and join them with metadata.

    Parameters
    ----------
    root : str or os.PathLike
        Folder to walk recursively.
    metadata_path : str or os.PathLike, optional
        metadata CSV; by default ``root/metadata.csv`` when it exists.
    categories : list of str, optional
        Keep only files of these categories (case-insensitive).
    exclude : str or os.PathLike, optional
        Folder to leave out (songmap's output folder when it lies inside ``root``).

    Raises
    ------
    FileNotFoundError
        ``root`` missing or not a folder.
    MetadataError
        metadata.csv unusable.
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"input folder not found: {root}")
    if not root.is_dir():
        raise NotADirectoryError(f"input is not a folder: {root}")
    files = find_audio_files(root, exclude=exclude)
    collection = Collection(root=root, files=files)

    if metadata_path is None and (root / "metadata.csv").is_file():
        metadata_path = root / "metadata.csv"
    if metadata_path is not None:
        rows = read_metadata(metadata_path)
        by_relative = {collection.relative(f): f for f in files}
        by_name: dict[str, list[Path]] = {}
        for f in files:
            by_name.setdefault(f.name, []).append(f)
        for row in rows:
            name = row["filename"].replace("\\", "/").removeprefix("./")
            match = by_relative.get(name)
            if match is None and len(by_name.get(Path(name).name, [])) == 1:
                # A bare file name is enough when it is unique in the folder tree.
                match = by_name[Path(name).name][0]
            if match is None:
                collection.missing_in_folder.append(row["filename"])
            else:
                collection.metadata[collection.relative(match)] = row

    if categories:
        wanted = {c.strip().lower() for c in categories if c.strip()}
        kept = [f for f in files if (collection.category(f) or "").lower() in wanted]
        collection.excluded_by_category = len(files) - len(kept)
        collection.files = kept
    return collection
