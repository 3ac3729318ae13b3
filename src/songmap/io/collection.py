"""A folder of songs with its optional ``metadata.csv``: what will be mapped, with titles, tags and categories."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from songmap.io.discovery import AUDIO_EXTENSIONS, find_audio_files
from songmap.io.tables import read_metadata
from songmap.io.tags import TrackTags, parse_track_number, parse_year, read_tags, split_genres
from songmap.io.text import display_text

__all__ = ["Collection", "scan_collection", "TAG_KEYS"]

#: What :meth:`Collection.describe` says about each track, beside its category.
TAG_KEYS = ("title", "artist", "album", "genre", "year", "track_number")


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
        metadata.csv rows naming files that are not in the folder (as the rows write them).
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
    file_column, category_column, title_column : str or None
        The metadata columns used for file names, categories and titles (see
        :func:`songmap.io.tables.read_metadata`); None when there is no such column.
    matched_by_stem : dict
        Row's file name -> the file it was matched to by name with another audio
        extension (``Black Mist.wav`` listed, ``Black Mist.mp3`` in the folder).
    stem_candidates : dict
        For rows naming a missing file that were not matched by another extension
        because it was ambiguous: the files that would fit (several files with that
        name, or one file that several rows would claim). These rows are in ``missing_in_folder``.
    genre_separators : str
        Characters that split one genre value into several (:func:`songmap.io.tags.split_genres`).
    tag_problems : dict
        Relative path -> why its tags could not be read, for the files :meth:`describe` has read.
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
    file_column: str | None = "filename"
    category_column: str | None = "category"
    title_column: str | None = "title"
    matched_by_stem: dict[str, str] = field(default_factory=dict)
    stem_candidates: dict[str, list[str]] = field(default_factory=dict)
    genre_separators: str = ""
    tag_problems: dict[str, str] = field(default_factory=dict)

    def relative(self, path: Path) -> str:
        """Path of ``path`` relative to the folder, with forward slashes."""
        return Path(os.path.relpath(path, self.root)).as_posix()

    def category(self, path: Path) -> str | None:
        """Category of a file, or None when metadata has none."""
        if self.category_column is None:
            return None
        value = self.metadata.get(self.relative(path), {}).get(self.category_column, "").strip()
        return value or None

    def describe(self, path: Path) -> dict:
        """A track's :data:`TAG_KEYS`: its embedded tags, overridden cell by cell by metadata.csv.

        ``title`` falls back to the file name without extension; ``genre`` is a
        list (split at :attr:`genre_separators` only); ``year`` and
        ``track_number`` are ints; what neither says is None (``genre``: empty).
        A file whose tags cannot be read is described from metadata and its
        name, and its reason is kept in :attr:`tag_problems`.
        """
        rel = self.relative(path)
        tags = read_tags(path, genre_separators=self.genre_separators)
        if tags.problem is not None:
            self.tag_problems[rel] = tags.problem
        row = self.metadata.get(rel, {})
        sheet = TrackTags(
            title=row.get(self.title_column, "").strip() if self.title_column else None,
            artist=row.get("artist", "").strip(),
            album=row.get("album", "").strip(),
            genre=split_genres([row.get("genre", "")], self.genre_separators),
            year=parse_year(row.get("year")),
            track_number=parse_track_number(row.get("track_number") or row.get("track")),
        )
        return {
            "title": display_text(sheet.title or tags.title or path.stem),
            "artist": display_text(sheet.artist or tags.artist or "") or None,
            "album": display_text(sheet.album or tags.album or "") or None,
            "genre": sheet.genre or tags.genre,
            "year": sheet.year if sheet.year is not None else tags.year,
            "track_number": sheet.track_number if sheet.track_number is not None else tags.track_number,
        }

    def resolve_names(self, names: Iterable[str]) -> list[str]:
        """The relative path of the file each name means when it names one only with another extension.

        As for metadata rows (used for ``pairs.csv``): a name that matches a file
        exactly, or no file, or several, comes back unchanged.
        """
        index = _NameIndex(self, self.files, fold_case=False)  # built once for all the names
        return [self._resolve_name(index, name) for name in names]

    def _resolve_name(self, index: _NameIndex, name: str) -> str:
        plain = name.replace("\\", "/").removeprefix("./")
        if index.find(plain) is not None:
            return name
        candidates = index.find_by_stem(plain)
        return self.relative(candidates[0]) if len(candidates) == 1 else name


def scan_collection(
    root: str | os.PathLike,
    metadata_path: str | os.PathLike | None = None,
    categories: list[str] | None = None,
    exclude: str | os.PathLike | None = None,
    ignore_case: bool = False,
    file_column: str | None = None,
    category_column: str | None = None,
    genre_separators: str = "",
) -> Collection:
    """Find the audio files of a folder and join them with metadata.

    A row's file name (its ``filename`` column, or the column found by
    :func:`songmap.io.tables.read_metadata`) is the path relative to the folder
    (``/`` or ``\\``), or only the file name when that is unique in the tree.
    Names match after Unicode NFC normalisation (macOS writes decomposed
    accents), exactly or, with ``ignore_case``, ignoring case when that is
    unambiguous. A row that matches no file but exactly one file by its name
    with another audio extension (``Black Mist.wav`` listed, only
    ``Black Mist.mp3`` there: the notebooks' sheet beside the original mp3s)
    is matched to it and listed in ``matched_by_stem``; when several files
    could be meant, nothing is guessed (``stem_candidates``).

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
    file_column, category_column : str, optional
        Metadata columns to use instead of guessing them.
    genre_separators : str
        Characters that split a genre tag or cell into several genres (none by default).

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
    collection = Collection(root=root, files=files, genre_separators=genre_separators)
    collection.unreadable = [(collection.relative(p) + "/", reason) for p, reason in unreadable]

    if metadata_path is None and (root / "metadata.csv").is_file():
        metadata_path = root / "metadata.csv"
    if metadata_path is not None:
        collection.metadata_path = Path(metadata_path)
        table = read_metadata(metadata_path, file_column=file_column, category_column=category_column)
        collection.file_column = table.file_column
        collection.category_column = table.category_column
        collection.title_column = table.title_column
        _join_rows(collection, files, [(table.file(row), row) for row in table.rows], ignore_case)
        collection.not_in_metadata = [r for r in map(collection.relative, files) if r not in collection.metadata]

    if categories:
        wanted = {c.strip().lower() for c in categories if c.strip()}
        kept = [f for f in files if (collection.category(f) or "").lower() in wanted]
        collection.excluded_by_category = len(files) - len(kept)
        collection.files = kept
    return collection


def _join_rows(
    collection: Collection, files: list[Path], rows: Iterable[tuple[str, dict[str, str]]], ignore_case: bool
) -> None:
    """Match metadata rows to files: exactly first, then by name with another extension."""
    exact = _NameIndex(collection, files, fold_case=False)
    folded = _NameIndex(collection, files, fold_case=True)
    unmatched: list[tuple[str, str, dict[str, str]]] = []
    for listed, row in rows:
        name = listed.replace("\\", "/").removeprefix("./")
        match = exact.find(name)
        if match is None and ignore_case:
            match = folded.find(name)
        if match is None:
            unmatched.append((listed, name, row))
        else:
            collection.metadata[collection.relative(match)] = row
    # Only files that no row names exactly can be claimed by another extension, and only by one row.
    stems = folded if ignore_case else exact
    claims: dict[Path, list[str]] = {}
    for listed, name, _ in unmatched:
        candidates = stems.find_by_stem(name)
        if len(candidates) == 1 and collection.relative(candidates[0]) not in collection.metadata:
            claims.setdefault(candidates[0], []).append(listed)
        elif len(candidates) > 1:
            collection.stem_candidates[listed] = sorted(collection.relative(c) for c in candidates)
    claimed = {listed: path for path, rows in claims.items() if len(rows) == 1 for listed in rows}
    for path, rows in claims.items():
        if len(rows) > 1:
            collection.stem_candidates.update({listed: [collection.relative(path)] for listed in rows})
    for listed, name, row in unmatched:
        if listed in claimed:
            relative = collection.relative(claimed[listed])
            collection.metadata[relative] = row
            collection.matched_by_stem[listed] = relative
            continue
        collection.missing_in_folder.append(listed)
        hint = folded.find(name)
        if hint is not None:
            collection.case_hints[listed] = collection.relative(hint)


def _audio_stem(name: str) -> str | None:
    """``name`` without its extension when that is an audio one (``a/Song.wav`` -> ``a/Song``), else None."""
    suffix = PurePosixPath(name).suffix
    return name[: -len(suffix)] if suffix and suffix.lower() in AUDIO_EXTENSIONS else None


class _NameIndex:
    """Files by relative path and by bare name, NFC-normalised and optionally case-folded."""

    def __init__(self, collection: Collection, files: list[Path], fold_case: bool):
        self.fold_case = fold_case
        self.by_relative: dict[str, list[Path]] = {}
        self.by_name: dict[str, list[Path]] = {}
        self.by_relative_stem: dict[str, list[Path]] = {}
        self.by_name_stem: dict[str, list[Path]] = {}
        for f in files:
            relative = collection.relative(f)
            self.by_relative.setdefault(self._key(relative), []).append(f)
            self.by_name.setdefault(self._key(f.name), []).append(f)
            stem = _audio_stem(relative)
            if stem is not None:
                self.by_relative_stem.setdefault(self._key(stem), []).append(f)
                self.by_name_stem.setdefault(self._key(stem.rsplit("/", 1)[-1]), []).append(f)

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

    def find_by_stem(self, name: str) -> list[Path]:
        """Files named like ``name`` but with another audio extension (by path, else by bare name)."""
        stem = _audio_stem(name)
        if stem is None:
            return []
        candidates = self.by_relative_stem.get(self._key(stem), [])
        if not candidates:
            candidates = self.by_name_stem.get(self._key(stem.rsplit("/", 1)[-1]), [])
        suffix = PurePosixPath(name).suffix.lower()
        # A file with the listed extension would have matched exactly unless its name is ambiguous.
        return [] if any(c.suffix.lower() == suffix for c in candidates) else list(candidates)
