"""Mapper stage: :class:`SongMapper`, audio files in, 2-D points out (fit, transform, save, load).

``estimator`` (the scikit-learn-style estimator and its presets), ``inputs``
(model inputs in a memory-mapped file), ``persistence`` (model files).
Imports :mod:`songmap.model`, :mod:`songmap.features` and :mod:`songmap.io`.
"""

from songmap.mapper.estimator import PRESETS, NotFittedError, Progress, SongMapper

__all__ = ["PRESETS", "NotFittedError", "Progress", "SongMapper"]
