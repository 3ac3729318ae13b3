"""The two consoles, error lines with their exit codes, and the progress bars of long runs.

Exit codes: 0 success; 1 bad input (missing folder, unusable metadata, fewer
than two decodable files, ...) or a write the system refused (a full disk, a
quota, a read-only or unwritable folder: :func:`~songmap.io.oserrors.os_error_line`); 2 bad usage (unknown option, invalid value);
3 an unexpected internal error (a bug: please report it); 130 interrupted.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from rich.progress import Progress

    from songmap.app.jobs import Progress as Hooks

# markup off: file names like "Theme [remix].ogg" must print as they are.
out = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

EXIT_BAD_INPUT = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Print ``error: message`` to stderr and return the exit to raise."""
    err.print(Text("error: ", style="bold red") + Text(message))
    return typer.Exit(code)


def note(lines) -> None:
    """Print each line as ``note: line`` to stderr."""
    for line in lines:
        err.print(f"note: {line}")


@contextlib.contextmanager
def user_errors():
    """Turn every failure into one clear line and an exit code; never a traceback."""
    from songmap.app.jobs import MetadataError, MissingExtraError
    from songmap.io.oserrors import os_error_line

    try:
        yield
    except (typer.Exit, typer.BadParameter):
        raise
    except KeyboardInterrupt:
        raise fail("interrupted; finished features are cached and will be reused", EXIT_INTERRUPTED) from None
    except (MetadataError, MissingExtraError, ValueError) as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(os_error_line(exc)) from None
    except Exception as exc:  # a bug: still one line, with a way to see more
        if os.environ.get("SONGMAP_DEBUG"):
            raise
        raise fail(
            f"unexpected {type(exc).__name__}: {exc} (set SONGMAP_DEBUG=1 for details and please report it)",
            EXIT_INTERNAL,
        ) from None


def _duration(seconds: float) -> str:
    """``75.4`` -> ``"1 min 15 s"``; ``4000`` -> ``"1 h 7 min"``."""
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def progress_bars() -> Progress:
    """Bars on stderr; disabled (the hooks then print plain lines) unless stderr is a terminal
    or ``SONGMAP_PROGRESS`` is set."""
    # Imported here: `embed` and the other quick commands show no bars.
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),  # of training: at most, as it stops once the loss no longer improves
        console=err,
        transient=False,
        disable=not err.is_terminal and not os.environ.get("SONGMAP_PROGRESS"),
    )


def fit_hooks(progress: Progress, *, epochs: int, show_training: bool = True, report_rates: bool = True) -> Hooks:
    """Hooks of a fit (``map``, ``demo``, ``compare``) that drive a features bar and a training bar.

    Parameters
    ----------
    progress : rich.progress.Progress
        Bars made by :func:`progress_bars`.
    epochs : int
        Most training epochs: the training bar's length until training reports its own.
    show_training : bool, default=True
        Show the training bar once training starts; ``compare`` hides it when its
        autoencoder only computes the features.
    report_rates : bool, default=True
        Show files/s and the realtime factor on the features bar and, without bars,
        print a line with the time left at every tenth of the files (of 20 or more), one
        when the features are done, and one every 50 epochs.

    Returns
    -------
    hooks : songmap.app.jobs.Progress
    """
    from songmap.app.jobs import Progress as Hooks

    files_task = progress.add_task("features", total=None, info="")
    train_task = progress.add_task("training", total=epochs, info="", visible=False)
    started = time.perf_counter()

    def on_file(done: int, total: int, path: Path) -> None:
        if not report_rates:
            progress.update(files_task, total=total, completed=done)
            return
        elapsed = max(time.perf_counter() - started, 1e-9)
        info = f"{done / elapsed:5.1f} files/s, {hooks.audio_seconds / elapsed:5.0f}x realtime"
        progress.update(files_task, total=total, completed=done, info=info)
        if not progress.disable:
            return
        # Piped output (a log, a notebook) gets plain lines instead of bars.
        if done == total:
            err.print(f"features: {total} files, {info}, {elapsed:.1f} s")
        elif total >= 20 and done * 10 // total > (done - 1) * 10 // total:
            left = elapsed * (total - done) / done
            err.print(f"features: {done}/{total} files, {info}, {elapsed:.0f} s, about {_duration(left)} left")

    def on_epoch(epoch: int, max_epochs: int, loss: float) -> None:
        progress.update(train_task, visible=show_training, total=max_epochs, completed=epoch + 1,
                        info=f"loss {loss:.4f}")
        if report_rates and progress.disable and (epoch + 1) % 50 == 0:
            err.print(f"training: epoch {epoch + 1}/{max_epochs}, loss {loss:.4f}")

    hooks = Hooks(on_file, on_epoch)
    return hooks


class MethodsBar:
    """The bar of ``compare``'s methods; called as ``on_method(name)`` before each method runs.

    Parameters
    ----------
    progress : rich.progress.Progress
        Bars made by :func:`progress_bars`.
    methods : list of str
        The methods asked for, in the order they run.
    titles : dict
        Display name of each method.
    """

    def __init__(self, progress: Progress, *, methods: list[str], titles: dict[str, str]):
        self.progress = progress
        self.methods = methods
        self.titles = titles
        self.task = progress.add_task("methods", total=len(methods), info="", visible=False)

    def __call__(self, name: str) -> None:
        if name in self.methods:
            title = self.titles.get(name, name)
            self.progress.update(self.task, visible=True, completed=self.methods.index(name), info=title)
            if self.progress.disable:
                err.print(f"running {title}")

    def finish(self) -> None:
        """Fill the bar once every method has run."""
        self.progress.update(self.task, completed=len(self.methods), info="")
