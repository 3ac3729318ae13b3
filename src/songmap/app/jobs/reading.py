"""Maps as data: ``read_map`` gives an output folder's map as a :class:`pandas.DataFrame`."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from songmap.app.jobs.common import finish_interrupted_map
from songmap.report.documents import read_embeddings
from songmap.report.frames import map_frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["read_map"]


def read_map(out_dir: str | os.PathLike) -> pd.DataFrame:
    """The map in ``out_dir`` as a data frame: one row per track of its ``embeddings.json``.

    Works on the output folders of every preset and of earlier songmap versions
    (keys a map lacks are missing in its rows); columns, types and ``attrs`` are
    listed in :mod:`songmap.report.frames`.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Output folder of ``songmap map`` (or the path of its ``embeddings.json``).

    Returns
    -------
    pandas.DataFrame
        One row per track (``file``, ``title``, ``category``, ``x``, ``y``, ``neighbours``,
        ``cluster``, ...), with ``params``, ``clusters``, ``quality`` and the rest of the
        document on ``attrs``.

    Raises
    ------
    FileNotFoundError
        No ``embeddings.json`` there (the message says how to make one).
    ValueError
        The file is not an embeddings document.
    songmap._extras.MissingExtraError
        pandas is not installed (``pip install 'songmap[data]'``).

    Examples
    --------
    >>> import songmap
    >>> frame = songmap.read_map("my-map")  # doctest: +SKIP
    >>> frame.groupby("category")[["x", "y"]].mean()  # doctest: +SKIP
    >>> frame.attrs["quality"]["trustworthiness"]  # doctest: +SKIP
    {'5': 0.9604, '10': 0.9577}
    """
    finish_interrupted_map(out_dir)
    return map_frame(read_embeddings(out_dir))
