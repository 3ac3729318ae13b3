"""All-or-nothing replacement of the outputs in a songmap output folder.

``map`` writes five files (``model.safetensors``, ``embeddings.csv``, ``map.png``,
``map.html``, ``embeddings.json``) that must belong together. A rename can
replace one file atomically, not five, so the outputs are committed like a
database journal:

1. :class:`OutputStaging` makes ``OUT_DIR/.songmap-staging-<pid>-<token>/``
   at the start of the run (so an unwritable output folder fails at once, not
   after the training) and every output is written there.
2. :meth:`OutputStaging.commit` flushes the files to disk and then writes the
   list of names to ``COMMIT`` inside the staging folder (atomically). That
   is the commit point: before it, ``OUT_DIR`` still holds the previous
   outputs untouched; after it, the new set is complete on disk.
3. The files are renamed into ``OUT_DIR`` (``embeddings.json`` last) and the
   staging folder is removed.

A process killed before step 2 leaves only a staging folder, which the next
run deletes: the output folder is as before. A process killed during step 3
(a few renames) leaves a staging folder with ``COMMIT``; the next songmap
command on the folder (:func:`recover_output_folder`) finishes the renames
before it does anything else: the output folder is complete. Commits and
recovery hold a lock on ``OUT_DIR/.songmap.lock``, so two runs writing to the
same folder cannot interleave their renames.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import sys
import time
from pathlib import Path

from songmap._checkpoints import checkpoint
from songmap.io.oserrors import WriteError, os_reason, writing

__all__ = ["STAGING_PREFIX", "OutputStaging", "recover_output_folder"]

STAGING_PREFIX = ".songmap-staging-"
_COMMIT = "COMMIT"
_LOCK = ".songmap.lock"
# Temporary files of songmap.io.atomic.atomic_path: ".<name>.<random>.tmp".
_TMP_GLOB = ".*.tmp"
_STALE_TMP_S = 3600.0


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate the process there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    except OSError:
        return False
    return True


def _staging_owner(path: Path) -> int | None:
    match = re.match(re.escape(STAGING_PREFIX) + r"(\d+)-", path.name)
    return int(match.group(1)) if match else None


@contextlib.contextmanager
def _locked(out_dir: Path):
    """Hold an exclusive lock on the output folder (POSIX; elsewhere a no-op)."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    fd = os.open(out_dir / _LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _fsync(path: Path, directory: bool = False) -> None:
    if directory and sys.platform == "win32":
        return
    try:
        fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync folders; a kill is still safe
    finally:
        os.close(fd)


def _finish(staging: Path, out_dir: Path) -> None:
    """Move the files a committed staging folder lists into ``out_dir``, then remove it."""
    names = [n for n in (staging / _COMMIT).read_text(encoding="utf-8").splitlines() if n]
    for k, name in enumerate(names, start=1):
        source = staging / name
        if source.exists():  # moved already by the run that was interrupted
            os.replace(source, out_dir / name)
        checkpoint(f"moved:{k}")
    _fsync(out_dir, directory=True)
    shutil.rmtree(staging, ignore_errors=True)


def recover_output_folder(out_dir: str | os.PathLike) -> list[str]:
    """Finish or undo what an interrupted ``map`` left in ``out_dir``.

    Committed staging folders are moved into place, uncommitted ones of
    processes that are gone are deleted, and temporary files of interrupted
    writes (in ``out_dir`` and ``out_dir/cache``) older than an hour are removed.

    Returns
    -------
    list of str
        One line per finished commit (for the user); deletions are silent.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return []
    finished: list[str] = []
    _remove_stale_tmp(out_dir)
    _remove_stale_tmp(out_dir / "cache")
    if not any(out_dir.glob(STAGING_PREFIX + "*")):
        return finished  # the usual case, without taking the lock (a read-only folder stays readable)
    with _locked(out_dir):
        for staging in sorted(out_dir.glob(STAGING_PREFIX + "*")):
            if not staging.is_dir():
                continue
            if (staging / _COMMIT).is_file():
                _finish(staging, out_dir)
                finished.append(f"finished writing the outputs of an interrupted run in {out_dir}")
            else:
                owner = _staging_owner(staging)
                if owner is not None and owner != os.getpid() and _pid_alive(owner):
                    continue  # another run is writing there right now
                shutil.rmtree(staging, ignore_errors=True)
    return finished


def _remove_stale_tmp(folder: Path) -> None:
    # Temporary files of writes that a kill interrupted; an hour old, no live writer still owns them.
    now = time.time()
    for tmp in folder.glob(_TMP_GLOB):
        with contextlib.suppress(OSError):
            if tmp.is_file() and now - tmp.stat().st_mtime > _STALE_TMP_S:
                tmp.unlink()


class OutputStaging:
    """A staging folder inside ``out_dir`` whose files replace the outputs all at once.

    >>> with OutputStaging(out_dir) as staging:          # doctest: +SKIP
    ...     write(staging.path / "embeddings.json")
    ...     staging.commit(["embeddings.json"])

    Leaving the ``with`` block without :meth:`commit` (an error, Ctrl-C)
    deletes the staging folder and leaves ``out_dir`` as it was. A write that
    fails inside it (a full disk) is reported on the output's own name,
    ``out_dir/<name>``: the staging folder is songmap's business, not the user's.
    """

    def __init__(self, out_dir: str | os.PathLike):
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / f"{STAGING_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        self.committed = False

    def __enter__(self) -> OutputStaging:
        with writing(self.out_dir, "the outputs"):
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self.recovered = recover_output_folder(self.out_dir)
            self.path.mkdir()
        return self

    def __exit__(self, exc_type, exc, traceback) -> bool:
        if not self.committed:
            shutil.rmtree(self.path, ignore_errors=True)
        if isinstance(exc, OSError) and exc.filename is not None:
            staged = Path(exc.filename)
            if staged.parent == self.path:
                failure = exc if isinstance(exc, WriteError) else WriteError(exc.errno, os_reason(exc), staged)
                name = staged.name if not staged.name.startswith(_COMMIT) else None
                raise failure.renamed(self.out_dir / name if name else self.out_dir,
                                      None if name else "the outputs") from exc
        return False

    def commit(self, names: list[str]) -> list[Path]:
        """Make the staged files ``names`` the outputs of ``out_dir``; the last one is moved last.

        Raises
        ------
        OSError
            Before the commit point (nothing changed) when a name in ``out_dir``
            is a folder, or a staged file is missing.
        """
        for name in names:
            if not (self.path / name).is_file():
                raise FileNotFoundError(f"staged output missing: {self.path / name}")
            if (self.out_dir / name).is_dir():
                raise IsADirectoryError(f"cannot write {self.out_dir / name}: a folder of that name is in the way")
        for name in names:
            _fsync(self.path / name)
        checkpoint("staged")
        with _locked(self.out_dir):
            commit_tmp = self.path / (_COMMIT + ".tmp")
            with writing(commit_tmp):
                commit_tmp.write_text("\n".join(names) + "\n", encoding="utf-8")
            _fsync(commit_tmp)
            os.replace(commit_tmp, self.path / _COMMIT)
            _fsync(self.path, directory=True)
            self.committed = True  # from here on the new outputs win, even if this process dies
            checkpoint("committed")
            _finish(self.path, self.out_dir)
        return [self.out_dir / name for name in names]
