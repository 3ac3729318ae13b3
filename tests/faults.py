"""Helpers of the fault-matrix tests: real `songmap` processes, small file systems, an unprivileged user.

Each run is a ``python -m songmap`` process in its own session, so whatever it started
(feature workers, the forkserver, the resource tracker) shares its session id and can be
counted after it ends. File systems are small tmpfs mounts and the user a real account:
both need root, which CI has; without it the tests that need them are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
NEEDS_ROOT = "mounting a small tmpfs and creating a user need root (CI runs the tests as root)"
USER = "songmap-fault"


@dataclass
class Outcome:
    """A finished `songmap` process: exit status, output, and the processes it left running."""

    returncode: int
    stdout: str
    stderr: str
    left_behind: list[str]

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]


def session_processes(session: int) -> list[str]:
    """Live processes (not zombies) of ``session``: ``"pid command"`` each."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        state, sid = fields[0], int(fields[3])
        if sid == session and state not in ("Z", "X"):
            found.append(f"{entry.name} {command[:120]}")
    return found


def run_songmap(args: list[str], *, user: str | None = None, timeout: float = 180, settle_s: float = 5.0,
                kill_when: Callable[[list[str]], bool] | None = None, **env: str) -> Outcome:
    """Run ``songmap args`` to its end (as ``user`` when given) and list what it left behind.

    With ``kill_when``, the process gets SIGKILL as soon as ``kill_when(processes of its session)``
    is true. Processes of its session still alive ``settle_s`` after it ended are reported, then killed.
    """
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
    environment["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT / "src"), environment.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    environment.pop("SONGMAP_PROGRESS", None)
    command = [sys.executable, "-m", "songmap", *map(str, args)]
    if user is not None:
        home = Path(pwd.getpwnam(user).pw_dir)
        environment.update(HOME=str(home), MPLCONFIGDIR=str(home / "mpl"), USER=user, LOGNAME=user)
        command = as_user(command, user)
    # Files, not pipes: a process left behind holding them open must not make the test wait for it.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(command, stdout=out, stderr=err, text=True, env=environment, start_new_session=True)
        started = time.monotonic()
        while kill_when is not None and proc.poll() is None and time.monotonic() - started < timeout:
            if kill_when(session_processes(proc.pid)):
                os.kill(proc.pid, 9)
                break
            time.sleep(0.05)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
            err.seek(0)
            raise AssertionError(f"songmap {args[0]} ran past {timeout} s\n{err.read()}") from None
        deadline = time.monotonic() + settle_s
        left = session_processes(proc.pid)
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = session_processes(proc.pid)
        for line in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(line.split()[0]), 9)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    return Outcome(proc.returncode, stdout, stderr, left)


def assert_one_error(outcome: Outcome, *fragments: str, code: int = 1) -> str:
    """One ``error:`` line holding every fragment, exit ``code``, no traceback, no signal, nothing left running."""
    report = f"rc={outcome.returncode}\nstdout:\n{outcome.stdout}\nstderr:\n{outcome.stderr}"
    assert outcome.returncode == code, report
    assert "Traceback" not in outcome.stderr and "Fatal Python error" not in outcome.stderr, report
    assert not outcome.left_behind, f"processes left running: {outcome.left_behind}"
    (line,) = outcome.error_lines
    for fragment in fragments:
        assert fragment in line, report
    assert ".tmp" not in line and ".songmap-staging-" not in line, f"names a temporary file: {line}"
    return line


@contextlib.contextmanager
def small_filesystem(folder: Path, size: str = "8m"):
    """A tmpfs of ``size`` mounted on ``folder`` (created) for the block."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=755", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path, leave: int) -> Path:
    """Take all but ``leave`` bytes of ``folder``'s file system with one file (returned)."""
    filler = folder / "filler"
    free = shutil.disk_usage(folder).free
    with open(filler, "wb") as handle:
        os.posix_fallocate(handle.fileno(), 0, max(free - leave, 4096))
    return filler


def remount_read_only(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative name -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@contextlib.contextmanager
def unprivileged_user():
    """A fresh system user with its own home folder, removed afterwards; yields its name."""
    subprocess.run(["userdel", "-r", USER], capture_output=True, check=False)
    home = Path(tempfile.mkdtemp(prefix="songmap-fault-home-"))
    subprocess.run(["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/sh", USER],
                   check=True, capture_output=True)
    entry = pwd.getpwnam(USER)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    try:
        yield USER
    finally:
        subprocess.run(["userdel", USER], capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)


def _hidden_ancestors() -> list[tuple[Path, str]]:
    """Folders on the way to the interpreter that other users cannot enter, with the child needed inside each.

    A pyenv interpreter under /root (mode 700) is the usual case: the user could not even start Python.
    """
    hidden = []
    for target in {Path(sys.executable).resolve(), Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}:
        for parent, child in zip(target.parents, [target, *target.parents]):
            if not os.stat(parent).st_mode & 0o001 and (parent, child.name) not in hidden:
                hidden.append((parent, child.name))
    return hidden


def as_user(command: list[str], user: str) -> list[str]:
    """``command`` run as ``user`` (no groups, no capabilities) through ``setpriv``.

    Where the interpreter lies in a folder others cannot enter, the command runs in a
    mount namespace of its own in which that folder is an empty, enterable tmpfs with
    only the interpreter's folder bound into it: nothing else of it is visible, nothing
    outside the command changes.
    """
    entry = pwd.getpwnam(user)
    drop = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--", *command]
    hidden = _hidden_ancestors()
    if not hidden:
        return drop
    script = ["set -e"]
    for k, (parent, child) in enumerate(hidden):
        script += [f'keep{k}=$(mktemp -d)', f'mount --bind "{parent / child}" "$keep{k}"',
                   f'mount -t tmpfs -o mode=755 tmpfs "{parent}"', f'mkdir -p "{parent / child}"',
                   f'mount --bind "$keep{k}" "{parent / child}"']
    script.append('exec "$@"')
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(script), "sh", *drop]
