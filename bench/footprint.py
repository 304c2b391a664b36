"""Footprint: idle memory of `threadloom serve` with the bundled local model and with a remote
endpoint, and whether torch is loaded at all.

    python -m bench.footprint               # about half a minute

Each server runs as a child process (`python -m threadloom.service.cli.commands serve` on a
loopback port
and a new SQLite file), answers one `/ok`, and is then measured: resident memory (VmRSS) and
whether torch's shared library is mapped. The endpoint URL points at a closed loopback port;
a server never calls its endpoint before a run. Goal (issue 11 §6): with a remote endpoint, the
server never imports torch or transformers.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

import httpx

from bench.child_server import ChildServer, free_port
from bench.systems import REPO, START_TIMEOUT_S, child_env

READY = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")
ENDPOINT = "http://127.0.0.1:9/v1"
MiB = 2**20


def measure(name: str, workdir: Path, **env: str) -> tuple[int, bool]:
    """(resident bytes, torch loaded) of an idle server started with `env`."""
    port = free_port()
    command = [
        sys.executable, "-m", "threadloom.service.cli.commands", "serve",
        "--host", "127.0.0.1", "--port", str(port), "--db", str(workdir / f"{name}.sqlite"),
    ]
    server_env = child_env(**env)
    if "THREADLOOM_ENDPOINT_URL" not in env:
        server_env.pop("THREADLOOM_ENDPOINT_URL", None)
    with ChildServer(command, server_env, cwd=REPO, log_path=workdir / f"{name}.log") as child:
        url = child.start(READY, START_TIMEOUT_S).group(1)
        httpx.get(f"{url}/ok", timeout=30).raise_for_status()
        return child.rss_bytes(), child.maps_library("libtorch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="threadloom-footprint-") as folder:
        workdir = Path(folder)
        local_rss, local_torch = measure("bundled", workdir)
        remote_rss, remote_torch = measure("endpoint", workdir, THREADLOOM_ENDPOINT_URL=ENDPOINT)
    print(f"{'server':<28}{'idle RSS MiB':>14}{'torch loaded':>14}")
    print(f"{'bundled local model':<28}{local_rss / MiB:>14.0f}{local_torch!s:>14}")
    print(f"{'remote endpoint':<28}{remote_rss / MiB:>14.0f}{remote_torch!s:>14}")
    print(f"\nmemory saved with a remote endpoint: {(local_rss - remote_rss) / MiB:.0f} MiB "
          f"({local_rss / max(1, remote_rss):.1f}x less)")
    met = "met" if not remote_torch and local_torch else "MISSED"
    print(f"remote endpoint server without torch: {not remote_torch} (goal: no torch: {met})")


if __name__ == "__main__":
    main()
