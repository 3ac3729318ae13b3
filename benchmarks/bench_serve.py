"""`songmap serve` under load: 2 000 requests from 100 concurrent clients, with idle connections held.

    python benchmarks/bench_serve.py [--requests 2000] [--concurrency 100] [--idle 50] [--tracks 200]

Writes a map of ``--tracks`` one-second WAV files into a temporary folder, starts ``songmap serve`` on
it (the real command, in its own process), holds ``--idle`` connections open that send nothing, and
sends the requests from ``--concurrency`` clients, each on its own keep-alive connection: the page,
``embeddings.json`` and the audio files whole and by ranges, as browsers do. Prints the latency
median, 95th percentile and maximum, the statuses, and the server's RSS before and after. The
clients are coroutines on one asyncio loop (standard library only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf


def write_map(root: Path, tracks: int) -> Path:
    """An output folder whose embeddings.json lists ``tracks`` generated WAV files."""
    songs, out = root / "songs", root / "out"
    songs.mkdir()
    out.mkdir()
    rng = np.random.default_rng(0)
    entries = []
    for i in range(tracks):
        name = f"track {i:04d}.wav"
        sf.write(songs / name, (0.1 * rng.standard_normal(22050)).astype(np.float32), 22050)
        entries.append({"file": name, "title": f"Track {i}", "category": ["a", "b"][i % 2], "duration_s": 1.0,
                        "x": float(rng.normal()), "y": float(rng.normal())})
    doc = {"songmap_version": "bench", "format_version": 1, "created": "2026-12-03T00:00:00+00:00",
           "input_dir": str(songs), "params": {}, "tracks": entries, "skipped": []}
    (out / "embeddings.json").write_text(json.dumps(doc), encoding="utf-8")
    return out


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Results:
    requests: list[tuple[float, int, bool]] = field(default_factory=list)  # (seconds, status, first on its connection)
    connects: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def run_clients(port: int, jobs, concurrency: int) -> Results:
    """``concurrency`` keep-alive clients on one event loop (a thread each would measure the client's
    own interpreter lock), taking requests from ``jobs`` until it is empty."""
    results = Results()

    async def client() -> None:
        began = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        results.connects.append(time.perf_counter() - began)
        first = True
        for path, ranged in jobs:
            extra = "Range: bytes=1000-20999\r\n" if ranged and path.startswith("/audio/") else ""
            started = time.perf_counter()
            try:
                writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = int(re.search(rb"(?i)\r\ncontent-length: *([0-9]+)", head).group(1))
                await reader.readexactly(length)
            except (OSError, asyncio.IncompleteReadError, ValueError, AttributeError) as exc:
                results.errors.append(f"{type(exc).__name__}: {exc}")
                break
            results.requests.append((time.perf_counter() - started, status, first))
            first = False
        writer.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--idle", type=int, default=50)
    parser.add_argument("--tracks", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        out = write_map(Path(tmp), args.tracks)
        port = free_port()
        songmap = [sys.executable, "-m", "songmap", "serve", str(out), "--port", str(port)]
        server = subprocess.Popen(songmap, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            server.stdout.readline()  # "songmap: serving ..." once it listens
            before = rss_mb(server.pid)
            idle = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(args.idle)]
            paths = (["/", "/embeddings.json"] + [f"/audio/{i}" for i in range(args.tracks)])
            plan = random.Random(0)
            jobs = iter([(plan.choice(paths), plan.random() < 0.5) for _ in range(args.requests)])
            server_cpu, client_cpu = cpu_seconds(server.pid), time.process_time()
            started = time.perf_counter()
            results = asyncio.run(run_clients(port, jobs, args.concurrency))
            wall = time.perf_counter() - started
            server_cpu, client_cpu = cpu_seconds(server.pid) - server_cpu, time.process_time() - client_cpu
            after = rss_mb(server.pid)
            for connection in idle:
                connection.close()
        finally:
            server.terminate()
            server.wait(timeout=10)

    latencies = [t for t, _, _ in results.requests]
    ms = sorted(1000 * t for t in latencies)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))] if ms else float("nan")
    first_ms = [1000 * t for t, _, first in results.requests if first]
    statuses: dict[int, int] = {}
    for _, status, _ in results.requests:
        statuses[status] = statuses.get(status, 0) + 1
    print(f"{len(ms)} answered of {args.requests} in {wall:.2f} s at {args.concurrency} concurrent, {args.idle} idle held "
          f"({os.cpu_count()} CPUs)")
    print(f"latency ms: median {statistics.median(ms):.1f}, p95 {p95:.1f}, max {ms[-1]:.1f}")
    print(f"first request of a connection ms: median {statistics.median(first_ms):.1f}, max {max(first_ms):.1f}")
    print(f"connect ms: median {1000 * statistics.median(results.connects):.1f}, max {1000 * max(results.connects):.1f} "
          "(not in the latencies above)")
    print(f"statuses: {dict(sorted(statuses.items()))}; client errors: {len(results.errors)} {results.errors[:3]}")
    print(f"CPU s: server {server_cpu:.2f}, client {client_cpu:.2f} (of {wall * (os.cpu_count() or 1):.2f} on all CPUs)")
    print(f"server RSS: {before:.0f} MB before, {after:.0f} MB after")


if __name__ == "__main__":
    main()
