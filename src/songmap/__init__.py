"""songmap: put a collection of songs on a 2-D map.

Stages, data flowing one way::

    audio (decode, resample, mono) -> features (pad/crop, log-mel, cache)
    -> model (two-neuron convolutional autoencoder) -> mapping (SongMapper)
    -> outputs (json/csv, plot, map page)
"""

__version__ = "0.1.0"

__all__ = ["__version__", "SongMapper"]


def __getattr__(name: str):
    # Imported on first use: `songmap --help` should not pay for loading PyTorch.
    if name == "SongMapper":
        from songmap.mapping import SongMapper

        return SongMapper
    raise AttributeError(f"module 'songmap' has no attribute {name!r}")
