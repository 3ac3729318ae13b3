"""songmap: put a collection of songs on a 2-D map.

Stages, data flowing one way::

    audio (decode, resample, mono) -> features (pad/crop, log-mel, cache)
    -> model (two-neuron convolutional autoencoder) -> mapping (SongMapper)
    -> outputs (json/csv, plot, map page)
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
