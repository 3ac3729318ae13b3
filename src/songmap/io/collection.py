"""A folder of songs with its optional ``metadata.csv``: what will be mapped, with titles and categories."""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from songmap.io.audio import find_audio_files
from songmap.io.tables import read_metadata
from songmap.io.text import display_text

__all__ = ["Collection", "scan_collection"]


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
    metadata_path : Path or None
        The metadata CSV that was read.
    not_in_metadata : list of str
        Relative paths of audio files that no metadata row names (empty without metadata).
    case_hints : dict
        For rows naming a missing file: the file that matches when case is ignored (see ``ignore_case``).
    unreadable : list of (str, str)
        Subfolders (relative, ending in ``/``) that could not be read, with the reason.
    """

    root: Path
    files: list[Path]
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    missing_in_folder: list[str] = field(default_factory=list)
    excluded_by_category: int = 0
    metadata_path: Path | None = None
    not_in_metadata: list[str] = field(default_factory=list)
    case_hints: dict[str, str] = field(default_factory=dict)
    unreadable: list[tuple[str, str]] = field(default_factory=list)

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
        return display_text(value or path.stem)


def scan_collection(
    root: str | os.PathLike,
    metadata_path: str | os.PathLike | None = None,
    categories: list[str] | None = None,
    exclude: str | os.PathLike | None = None,
    ignore_case: bool = False,
) -> Collection:
    """Find the audio files of a folder and join them with metadata.

    A row's ``filename`` is the path relative to the folder (``/`` or ``\\``), or
    only the file name when that is unique in the tree. Names match after
    Unicode NFC normalisation (macOS writes decomposed accents), exactly or,
    with ``ignore_case``, ignoring case when that is unambiguous.

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
    ignore_case : bool
        Match metadata file names to files ignoring upper/lower case.

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
    unreadable: list[tuple[Path, str]] = []
    files = find_audio_files(root, exclude=exclude, errors=unreadable)
    for folder, reason in unreadable:
        if folder == root:
            raise ValueError(f"cannot read the input folder {root} {reason.removeprefix('cannot read folder ')}")
    collection = Collection(root=root, files=files)
    collection.unreadable = [(collection.relative(p) + "/", reason) for p, reason in unreadable]

    if metadata_path is None and (root / "metadata.csv").is_file():
        metadata_path = root / "metadata.csv"
    if metadata_path is not None:
        collection.metadata_path = Path(metadata_path)
        rows = read_metadata(metadata_path)
        exact = _NameIndex(collection, files, fold_case=False)
        folded = _NameIndex(collection, files, fold_case=True)
        for row in rows:
            name = row["filename"].replace("\\", "/").removeprefix("./")
            match = exact.find(name)
            if match is None and ignore_case:
                match = folded.find(name)
            if match is None:
                collection.missing_in_folder.append(row["filename"])
                hint = folded.find(name)
                if hint is not None:
                    collection.case_hints[row["filename"]] = collection.relative(hint)
            else:
                collection.metadata[collection.relative(match)] = row
        collection.not_in_metadata = [r for r in map(collection.relative, files) if r not in collection.metadata]

    if categories:
        wanted = {c.strip().lower() for c in categories if c.strip()}
        kept = [f for f in files if (collection.category(f) or "").lower() in wanted]
        collection.excluded_by_category = len(files) - len(kept)
        collection.files = kept
    return collection


class _NameIndex:
    """Files by relative path and by bare name, NFC-normalised and optionally case-folded."""

    def __init__(self, collection: Collection, files: list[Path], fold_case: bool):
        self.fold_case = fold_case
        self.by_relative: dict[str, list[Path]] = {}
        self.by_name: dict[str, list[Path]] = {}
        for f in files:
            self.by_relative.setdefault(self._key(collection.relative(f)), []).append(f)
            self.by_name.setdefault(self._key(f.name), []).append(f)

    def _key(self, name: str) -> str:
        name = unicodedata.normalize("NFC", name)
        return name.casefold() if self.fold_case else name

    def find(self, name: str) -> Path | None:
        """The one file ``name`` names, or None (no file, or several)."""
        candidates = self.by_relative.get(self._key(name), [])
        if not candidates:
            # A bare file name is enough when it is unique in the folder tree.
            candidates = self.by_name.get(self._key(name.rsplit("/", 1)[-1]), [])
        return candidates[0] if len(candidates) == 1 else None
