"""songmap: put a collection of songs on a 2-D map.

Stages, data flowing one way::

    audio (decode, resample, mono) -> features (pad/crop, log-mel, cache)
    -> model (two-neuron convolutional autoencoder) -> mapping (SongMapper)
    -> outputs (json/csv, plot, map page)
"""

import os

# PyTorch's OpenMP threads spin while they wait for work. On a busy machine (a laptop running
# other things, parallel feature workers, a shared CI box) spinning threads steal the cores
# from each other and training got 5x slower than with one thread; sleeping waits do not.
# setdefault: a user's own setting wins. Must happen before torch is first imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

__all__ = ["__version__", "SongMapper"]


def __getattr__(name: str):
    # Imported on first use: `songmap --help` should not pay for loading PyTorch.
    if name == "SongMapper":
        from songmap.mapping import SongMapper

        return SongMapper
    raise AttributeError(f"module 'songmap' has no attribute {name!r}")
