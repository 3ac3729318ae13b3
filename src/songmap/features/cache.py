"""The on-disk feature cache: one file's spectrogram (or per-window images) is computed once per parameter set."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np

from songmap.features.spectrogram import FeatureParams, TrackFeatures
from songmap.features.windows import WindowedFeatures, WindowSpec
from songmap.io.atomic import atomic_write_bytes

__all__ = ["FeatureCache"]


class FeatureCache:
    """On-disk cache of :class:`TrackFeatures`, one ``.npz`` per file and parameter set.

    Entries are keyed by the file's resolved path, size and modification time
    plus the feature parameters, so an edited file or a changed ``--n-mels`` is
    recomputed. Entries are written to a temporary name and renamed, so an
    interrupted run never leaves a half-written entry.

    Parameters
    ----------
    folder : str or os.PathLike
        Cache folder (created on first write).
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    @staticmethod
    def _identity(path: Path, params: FeatureParams) -> str:
        st = path.stat()
        return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{params.key()}"

    def _entry(self, ident: str) -> Path:
        return self.folder / (hashlib.sha256(ident.encode("utf-8", "surrogateescape")).hexdigest()[:32] + ".npz")

    def _entry_path(self, path: Path, params: FeatureParams) -> Path:
        return self._entry(self._identity(path, params))

    def window_entries(self, path: str | os.PathLike, params: FeatureParams, spec: WindowSpec) -> tuple[Path, Path | None]:
        """The entries of ``path``'s per-window images: the clean images', and the augmented copies' (None without).

        Per-window images have their own entries, keyed by the windows too. Taken once
        before a file is decoded and passed to :meth:`get_windows` and :meth:`put_windows`,
        they cost one ``stat`` for both, and a file that changes while it is decoded is
        stored under its old identity, which the next run does not read.
        """
        ident = self._identity(Path(path), params)
        augmented = self._entry(f"{ident}|{spec.key()}") if int(spec.augment) > 0 else None
        return self._entry(f"{ident}|{spec.clean().key()}"), augmented

    def get(self, path: str | os.PathLike, params: FeatureParams) -> TrackFeatures | None:
        """Cached features for ``path``, or None."""
        try:
            entry = self._entry_path(Path(path), params)
            with np.load(entry) as data:
                return TrackFeatures(
                    data["log_mel"].astype(np.float32),
                    float(data["duration_s"]),
                    float(data["covered_s"]),
                    bool(data["complete"]),
                    _damage(data),
                )
        except (OSError, KeyError, ValueError):
            return None

    def put(self, path: str | os.PathLike, params: FeatureParams, features: TrackFeatures) -> None:
        """Store features for ``path`` atomically."""
        entry = self._entry_path(Path(path), params)
        self.folder.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        # float16 halves the cache; dB values in [-80, 0] keep ~0.03 dB precision.
        np.savez(
            buffer,
            log_mel=features.log_mel.astype(np.float16),
            duration_s=features.duration_s,
            covered_s=features.covered_s,
            complete=features.complete,
            damage=features.damage,
        )
        atomic_write_bytes(entry, buffer.getvalue())

    def get_windows(self, path: str | os.PathLike, params: FeatureParams, spec: WindowSpec, *,
                    entries: tuple[Path, Path | None] | None = None) -> WindowedFeatures | None:
        """Cached per-window images for ``path`` (:mod:`songmap.features.windows`), or None.

        The clean images have one entry (keyed by ``spec.clean()``), shared by every augmentation
        setting; with ``spec.augment`` copies, their images are a second entry, keyed by all of
        ``spec``, and both must be there. ``entries``: :meth:`window_entries`, when already taken."""
        try:
            clean_entry, augmented_entry = self.window_entries(path, params, spec) if entries is None else entries
            with np.load(clean_entry) as data:
                features = WindowedFeatures(
                    data["images"].astype(np.float32),
                    data["starts"].astype(np.float64),
                    data["used"].astype(bool),
                    float(data["duration_s"]),
                    damage=_damage(data),
                )
            if augmented_entry is not None:
                with np.load(augmented_entry) as data:
                    features.augmented = data["augmented"].astype(np.float32)
                if features.augmented.shape[:2] != (int(spec.augment), features.images.shape[1]):
                    return None
        except (OSError, KeyError, ValueError):
            return None
        return features

    def put_windows(self, path: str | os.PathLike, params: FeatureParams, spec: WindowSpec, features: WindowedFeatures, *,
                    entries: tuple[Path, Path | None] | None = None) -> None:
        """Store per-window images for ``path`` atomically (float32: a few kB per window), and the
        augmented copies' images, when there are, in their own entry (see :meth:`get_windows`)."""
        clean_entry, augmented_entry = self.window_entries(path, params, spec) if entries is None else entries
        self.folder.mkdir(parents=True, exist_ok=True)
        # An entry already there is kept: entries are renamed into place whole and keyed by the file's
        # identity, so it holds these very values (a run killed between a track's two entries leaves one).
        if not clean_entry.exists():
            buffer = io.BytesIO()
            np.savez(buffer, images=features.images.astype(np.float32), starts=features.starts,
                     used=features.used, duration_s=features.duration_s, damage=features.damage)
            atomic_write_bytes(clean_entry, buffer.getvalue())
        if augmented_entry is not None and features.augmented is not None and not augmented_entry.exists():
            buffer = io.BytesIO()
            np.savez(buffer, augmented=features.augmented.astype(np.float32))
            atomic_write_bytes(augmented_entry, buffer.getvalue())


def _damage(data) -> str:
    """An entry's damage note; entries written before songmap salvaged damaged files have none."""
    return str(data["damage"]) if "damage" in data.files else ""
