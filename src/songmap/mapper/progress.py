"""The callbacks through which a long :class:`~songmap.mapper.SongMapper` run reports what it is doing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Progress"]


@dataclass
class Progress:
    """Optional callbacks through which a long run reports what it is doing.

    Attributes
    ----------
    on_file : callable, optional
        ``on_file(done, total, path)`` after each file's features are ready.
    on_epoch : callable, optional
        ``on_epoch(epoch, max_epochs, loss)`` after each training epoch.
    audio_seconds : float
        Duration of the files whose features are ready so far (updated before
        each ``on_file`` call, for a realtime factor).
    """

    on_file: Callable[[int, int, Path], None] | None = None
    on_epoch: Callable[[int, int, float], None] | None = None
    audio_seconds: float = 0.0
