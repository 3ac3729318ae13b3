"""Mapper stage: :class:`SongMapper`, audio files in, 2-D points out (fit, transform, save, load).

``estimator`` (the scikit-learn estimator), ``parameters`` (what each parameter may be, the presets),
``progress`` (its callbacks), ``inputs`` (reading model inputs into a memory-mapped file, their
normalisation), ``persistence`` (model files). Imports :mod:`songmap.model`, :mod:`songmap.features`
and :mod:`songmap.io`.
"""

from sklearn.exceptions import NotFittedError

from songmap.mapper.estimator import SongMapper
from songmap.mapper.parameters import PRESETS
from songmap.mapper.progress import Progress

__all__ = ["PRESETS", "NotFittedError", "Progress", "SongMapper"]
