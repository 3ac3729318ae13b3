"""Named points of a ``map`` run where the interruption tests stop the process.

Set ``SONGMAP_TEST_STOP_AT=<name>`` (for example ``staged`` or ``features:2``)
and the process, on reaching that point, writes the name to the file named by
``SONGMAP_TEST_STOP_FILE`` (when set) and then either kills itself with SIGKILL
(``SONGMAP_TEST_STOP_ACTION=kill``, the default: no cleanup code runs, as when
the machine loses power or the user runs ``kill -9``) or waits
(``SONGMAP_TEST_STOP_ACTION=pause``) until the test sends it a signal.
Without the variable, :func:`checkpoint` does nothing.

The points, in order: ``features:N`` (N files' features are done),
``trained``, ``staged`` (every output written to the staging folder, not yet
committed), ``committed`` (the staging folder is marked complete) and
``moved:K`` (K outputs moved into place). Every atomic write of any command
(:func:`songmap.io.atomic.atomic_path`) also passes ``replacing:<file name>``
when the new file is complete, just before it replaces the old one.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

__all__ = ["checkpoint"]


def checkpoint(name: str) -> None:
    """Stop here if ``SONGMAP_TEST_STOP_AT`` names this point (tests only)."""
    if os.environ.get("SONGMAP_TEST_STOP_AT") != name:
        return
    marker = os.environ.get("SONGMAP_TEST_STOP_FILE")
    if marker:
        Path(marker).write_text(name, encoding="utf-8")
    if os.environ.get("SONGMAP_TEST_STOP_ACTION", "kill") == "pause":
        while True:  # until the test's signal arrives
            time.sleep(0.05)
    os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
    time.sleep(10)  # the signal is delivered asynchronously
