"""Features of many files: in this process, in a process pool (``--jobs``) or on Dask (``--scheduler``).

Each worker reads and writes the cache itself, so the parent never holds more
than the results in flight; results arrive in completion order.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path

from songmap.features.cache import FeatureCache
from songmap.features.spectrogram import FeatureParams, TrackFeatures, extract_features
from songmap.features.windows import WindowedFeatures, WindowSpec, extract_windows
from songmap.io.decode_errors import DecodeError
from songmap.io.oserrors import WriteError, is_out_of_space, os_reason

__all__ = ["iter_features", "extract_collection"]


def _features_for_file(
    path: Path, params: FeatureParams, max_seconds: float | None, cache_dir: str | None, windows: WindowSpec | None = None
) -> tuple[TrackFeatures | WindowedFeatures | None, str | None]:
    """One file's features, through the cache: ``(features, None)`` or ``(None, reason)``.

    A module-level function so that worker processes (and Dask workers) can run it; each
    worker writes its own cache entry, so the parent never holds more than one result.
    With ``windows``, the file's per-window images (:func:`extract_windows`) instead.
    """
    cache = FeatureCache(cache_dir) if cache_dir is not None else None
    if windows is not None:
        return _windows_for_file(path, params, windows, cache)
    feats = cache.get(path, params) if cache is not None else None
    if feats is not None and (max_seconds is None or feats.covers(max_seconds)):
        return feats, None
    try:
        feats = extract_features(path, params, max_seconds=max_seconds)
    except DecodeError as exc:  # extract_features turns every per-file failure into one
        return None, str(exc)
    if cache is not None:
        with _cache_write(cache):
            cache.put(path, params, feats)
    return feats, None


def _windows_for_file(path: Path, params: FeatureParams, spec: WindowSpec, cache: FeatureCache | None):
    try:  # the file's identity, once for reading and writing its entries
        entries = cache.window_entries(path, params, spec) if cache is not None else None
    except OSError:  # gone or unreadable: decoding says why
        entries = None
    feats = cache.get_windows(path, params, spec, entries=entries) if entries is not None else None
    if feats is not None:
        return feats, None
    try:
        feats = extract_windows(path, params, spec)
    except DecodeError as exc:
        return None, str(exc)
    if entries is not None:
        with _cache_write(cache):
            cache.put_windows(path, params, spec, feats, entries=entries)
    return feats, None


@contextlib.contextmanager
def _cache_write(cache: FeatureCache):
    """A read-only cache only costs the cache, not the run; a full disk stops the run with its reason
    (every later write would fail too, after minutes of work)."""
    try:
        yield
    except OSError as exc:
        if is_out_of_space(exc):
            failure = exc if isinstance(exc, WriteError) else WriteError(exc.errno, os_reason(exc), cache.folder)
            raise failure.renamed(cache.folder, "the feature cache") from None


def _worker_init(owner: int) -> None:
    # Ctrl-C reaches the whole process group: the parent turns it into one line and shuts the
    # pool down; workers that took it too would each print a KeyboardInterrupt traceback.
    import signal

    from threadpoolctl import threadpool_limits  # comes with scikit-learn

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_owner(owner)
    # One process per core already: BLAS threads (the mel filterbank product) would only fight
    # over the cores. Set for the life of the worker.
    threadpool_limits(1)


def _exit_with_owner(owner: int) -> None:
    """End this worker as soon as process ``owner`` (the one that made the pool) ends, however it ends.

    A worker is the forkserver's child, not the owner's, so the kernel would not tell it
    (``PR_SET_PDEATHSIG`` watches the parent); and each worker holds the pipes that keep
    the forkserver and the resource tracker running. Without this, a ``kill -9`` or a
    crash of ``songmap map`` left all of them running for ever, holding its stdout open.
    Once the workers are gone, the forkserver and the tracker read end-of-file and exit.
    """
    import select
    import threading
    import time

    try:
        handle = os.pidfd_open(owner)  # Linux 5.3+: readable once the owner has ended
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):
        handle = None

    def watch() -> None:
        if handle is not None:
            select.select([handle], [], [])
        else:
            while _alive(owner):
                time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="songmap-owner-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _run_serial(tasks):
    """Yield ``(index, result)`` computed in this process, with BLAS on one thread."""
    from threadpoolctl import threadpool_limits

    # One file's spectrogram is a few small products: waking a second BLAS thread for each costs
    # more than it saves (as PyTorch's thread pool did when the STFT ran there).
    with threadpool_limits(1):
        for index, args in tasks:
            yield index, _features_for_file(*args)


def _run_local(tasks, jobs: int):
    """Yield ``(index, result)`` from a process pool, keeping only a few files in flight."""
    import concurrent.futures as cf
    import multiprocessing

    # forkserver, not fork: forking a process that has used PyTorch's thread pool can deadlock.
    context = multiprocessing.get_context("forkserver")
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_worker_init,
                                initargs=(os.getpid(),)) as pool:
        pending: dict = {}
        queue = iter(tasks)
        try:
            for index, args in itertools.islice(queue, 4 * jobs):
                pending[pool.submit(_features_for_file, *args)] = index
            while pending:
                done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    index = pending.pop(future)
                    yield index, future.result()
                    for next_index, args in itertools.islice(queue, 1):
                        pending[pool.submit(_features_for_file, *args)] = next_index
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def _check_reachable(address: str) -> None:
    """Fail in a moment, not after Dask's connect timeout, when nothing listens at ``address``."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls"):
        return  # inproc://, ucx://, ...: leave it to Dask
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 8786), timeout=5):
            pass
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def _run_dask(tasks, scheduler: str, jobs: int):
    """Yield ``(index, result)`` from a dask.distributed cluster (``"local"`` starts a LocalCluster)."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ValueError("the Dask backend needs dask.distributed: pip install 'songmap[dask]'") from None
    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        _check_reachable(scheduler)
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        queue = iter(tasks)
        window = 4 * max(jobs, sum(client.nthreads().values()) or 1)
        futures = {}
        for index, args in itertools.islice(queue, window):
            futures[client.submit(_features_for_file, *args, pure=False)] = index
        completed = as_completed(list(futures))
        for future in completed:
            index = futures.pop(future)
            yield index, future.result()
            future.release()
            for next_index, args in itertools.islice(queue, 1):
                new = client.submit(_features_for_file, *args, pure=False)
                futures[new] = next_index
                completed.add(new)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def iter_features(
    paths: Sequence[str | os.PathLike],
    params: FeatureParams,
    max_seconds: float | None,
    *,
    cache: FeatureCache | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    windows: WindowSpec | None = None,
    copied: Collection[int] | None = None,
) -> Iterator[tuple[int, TrackFeatures | WindowedFeatures | None, str | None]]:
    """Each file's features as they are ready, from the cache where it covers ``max_seconds``.

    Parameters
    ----------
    paths : sequence of str or os.PathLike
        Audio files.
    params : FeatureParams
    max_seconds : float or None
        Seconds of each file that are needed (the crop length).
    cache : FeatureCache, optional
        Where features are looked up first and stored after computing. With
        ``scheduler``, it must be on a file system the Dask workers share.
    jobs : int
        Worker processes; 1 computes in this process.
    scheduler : str, optional
        ``"local"`` (a dask.distributed LocalCluster with ``jobs`` workers) or
        the address of a Dask scheduler (``tcp://host:8786``); the per-file
        work is sent there instead of to local processes.
    windows : WindowSpec, optional
        Per-window images (:func:`~songmap.features.windows.extract_windows`) instead.
    copied : collection of int, optional
        With ``windows.augment``: indices into ``paths`` whose augmented copies are made;
        the others are read with ``windows.clean()``. Default: every path's.

    Yields
    ------
    index : int
        Index into ``paths`` (completion order, not path order).
    features : TrackFeatures or None
        None when the file could not be used...
    reason : str or None
        ...and then why.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    paths = [Path(p) for p in paths]
    cache_dir = str(cache.folder) if cache is not None else None
    copied = None if copied is None or windows is None else frozenset(int(i) for i in copied)
    specs = [windows if copied is None or i in copied else windows.clean() for i in range(len(paths))]
    if scheduler is not None:
        # Workers on other machines need absolute paths.
        tasks = ((i, (p.resolve(), params, max_seconds, cache_dir and str(Path(cache_dir).resolve()), specs[i])) for i, p in enumerate(paths))
        results = _run_dask(tasks, scheduler, jobs)
    else:
        tasks = ((i, (p, params, max_seconds, cache_dir, specs[i])) for i, p in enumerate(paths))
        if jobs > 1 and len(paths) > 1:
            results = _run_local(tasks, min(jobs, len(paths)))
        else:
            results = _run_serial(tasks)
    for index, (feats, reason) in results:
        yield index, feats, reason


def extract_collection(
    paths: Sequence[str | os.PathLike],
    params: FeatureParams,
    max_seconds: float | None,
    *,
    cache: FeatureCache | None = None,
    on_file: Callable[[int, int, Path], None] | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
) -> tuple[dict[int, TrackFeatures], list[tuple[Path, str]]]:
    """All features of ``paths`` at once (:func:`iter_features`, collected).

    Parameters
    ----------
    paths, params, max_seconds, cache, jobs, scheduler
        As for :func:`iter_features`.
    on_file : callable, optional
        ``on_file(done, total, path)`` after each file (in completion order).

    Returns
    -------
    features : dict
        Index into ``paths`` -> :class:`TrackFeatures`, for the files that worked.
    skipped : list of (Path, str)
        Files that did not, with the reason, in the order of ``paths``.
    """
    paths = [Path(p) for p in paths]
    features: dict[int, TrackFeatures] = {}
    failed: dict[int, str] = {}
    results = iter_features(paths, params, max_seconds, cache=cache, jobs=jobs, scheduler=scheduler)
    for done, (index, feats, reason) in enumerate(results, start=1):
        if feats is not None:
            features[index] = feats
        else:
            failed[index] = reason
        if on_file is not None:
            on_file(done, len(paths), paths[index])
    return features, [(paths[i], failed[i]) for i in sorted(failed)]
