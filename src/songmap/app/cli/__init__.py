"""Command-line interface: a thin Typer layer over the jobs API (:mod:`songmap.app.jobs`).

Each command in :mod:`.commands` parses its options (the shared ones are in :mod:`.options`),
runs one job, shows its progress and errors (:mod:`.console`) and prints its result
(:mod:`.rendering`); the work itself is done by the job.
"""

from songmap.app.cli.commands import app

__all__ = ["app"]
