"""songmap: put a collection of songs on a 2-D map.

Subpackages, data flowing one way (docs/architecture.md)::

    io -> features -> model -> mapper (SongMapper) -> evaluation -> report / web -> app (jobs, CLI)
"""

import os

# PyTorch's OpenMP threads spin while they wait for work. On a busy machine (a laptop running
# other things, parallel feature workers, a shared CI box) spinning threads steal the cores
# from each other and training got 5x slower than with one thread; sleeping waits do not.
# setdefault: a user's own setting wins. Must happen before torch is first imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from songmap._version import __version__

__all__ = ["__version__", "SongMapper", "read_map", "show"]


def __getattr__(name: str):
    # Imported on first use: `songmap --help` should not pay for loading PyTorch.
    if name == "SongMapper":
        from songmap.mapper.estimator import SongMapper

        return SongMapper
    # Maps in Python (docs/reference.md, "In a notebook"): the jobs API's read_map and show.
    if name in ("read_map", "show"):
        from songmap.app import jobs

        return getattr(jobs, name)
    raise AttributeError(f"module 'songmap' has no attribute {name!r}")
