"""Feature stage: decoded audio -> log-mel spectrograms (cached) -> each track's model input.

``spectrogram`` (parameters, log-mel, one file's features), ``shaping`` (crop
length, loop-pad, pooled or modulation input), ``modulation``, ``cache`` and
``parallel`` (many files: processes or Dask). Imports only :mod:`songmap.io`.
"""
