"""Command-line interface: a thin Typer layer over the jobs API (:mod:`songmap.app.jobs`).

It only parses options (:mod:`.options`), shows progress and errors (:mod:`.console`) and
prints results (:mod:`.rendering`); every job is a function there, every command a few
lines in :mod:`.commands`.
"""

from songmap.app.cli.commands import app

__all__ = ["app"]
