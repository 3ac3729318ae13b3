"""Mapper stage: :class:`SongMapper`, audio files in, 2-D points out (fit, transform, save, load).

``estimator`` (the scikit-learn estimator), ``fitted`` (a fitted map's state and what places songs with it),
``presets`` (the named presets), ``parameters`` (what each parameter may be), ``progress`` (its callbacks),
``inputs`` (reading model inputs into a memory-mapped file, their normalisation), ``persistence`` (model
files). Imports :mod:`songmap.model`, :mod:`songmap.features` and :mod:`songmap.io`.

:class:`SongMapper` is imported on first use: scikit-learn's ``BaseEstimator`` takes about a second to
import, and placing songs (:class:`~songmap.mapper.fitted.FittedMap`) does not need it.
"""

from songmap.mapper.fitted import NotFittedError
from songmap.mapper.presets import PRESETS
from songmap.mapper.progress import Progress

__all__ = ["PRESETS", "NotFittedError", "Progress", "SongMapper"]


def __getattr__(name: str):
    if name == "SongMapper":
        from songmap.mapper.estimator import SongMapper

        return SongMapper
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
