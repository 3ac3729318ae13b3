"""The application layer: the jobs API (:mod:`songmap.app.jobs`) and the Typer CLI over it (:mod:`songmap.app.cli`)."""
