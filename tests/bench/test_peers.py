"""The peers of `bench.server_overhead`: one that cannot be set up is reported, never fatal.

Nothing here installs or starts a peer (that takes PyPI and minutes): installing is replaced
where it would run, and what a failed command reports is checked on a stand-in command.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bench import peers
from bench.load import Target
from bench.server_overhead import Sizes, bench_side_by_side
from bench.systems import Unavailable

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
SIZES = Sizes(runs=2, concurrent_runs=4, clients=2, langgraph_runs=1, warmup=1)


@asynccontextmanager
async def instant_system() -> AsyncIterator[Target]:
    async def run_once() -> None:
        return None

    yield Target(run_once)


async def test_a_peer_that_cannot_be_installed_is_reported_and_the_others_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def no_install(peer: peers.Peer, root: Path = peers.PEERS_HOME) -> Path:
        raise Unavailable(f"pip install {peer.requirements[0]} failed: ERROR: no network")

    monkeypatch.setattr(peers, "ensure_installed", no_install)
    peer = peers.PEERS[0]
    systems = {
        peer.name: peers.peer_server(peer, tmp_path, POSTGRES_URL, peers.DEFAULT_REDIS_URL, 2),
        "instant": instant_system(),
    }
    on_postgres = {peer.name: peers.peer_database_url(POSTGRES_URL, peer)}

    results = await bench_side_by_side(systems, 2, SIZES, warmup=1, on_postgres=on_postgres)

    failed, measured = results
    assert failed.name == peer.name
    assert failed.failure == f"pip install {peer.requirements[0]} failed: ERROR: no network"
    assert (failed.sequential, failed.concurrent, failed.transactions) == (None, None, None)
    assert measured.failure is None
    assert measured.sequential is not None and measured.sequential.runs == 2
    assert measured.concurrent is not None and measured.concurrent.runs == SIZES.concurrent_runs


def test_a_failed_set_up_command_says_its_error_line() -> None:
    script = (
        "print('WARNING: Location file:///opt/pypi/simple/x/ is ignored');"
        "print('ERROR: No matching distribution found for aegra-api==99');"
        "print('done'); raise SystemExit(1)"
    )
    with pytest.raises(Unavailable) as raised:
        peers.run_command([sys.executable, "-c", script], "pip install aegra-api==99")
    expected = "pip install aegra-api==99 failed: ERROR: No matching distribution found for"
    assert str(raised.value).startswith(expected)


def test_a_peer_that_wants_torch_is_told_apart() -> None:
    output = (
        "ERROR: Cannot install aegra-api==0.6.0 because these package versions have conflicts.\n"
        "The conflict is caused by:\n"
        "    some-model 1.0 depends on torch\n"
        "    The user requested (constraint) torch<0,<=2.14.1\n"
        "ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/\n"
    )
    assert peers.telling_line(output) == "it depends on torch, which a peer is never given"


def test_an_installed_peer_is_not_installed_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    peer = peers.PEERS[0]
    venv = tmp_path / peer.slug
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    (venv / "installed.txt").write_text(peers.stamp_text(peer))

    def fail(command: list[str], label: str) -> None:
        raise AssertionError(f"ran {label}")

    monkeypatch.setattr(peers, "run_command", fail)
    assert peers.ensure_installed(peer, tmp_path) == venv / "bin" / "python"


def test_each_peer_counts_on_a_database_of_its_own() -> None:
    urls = {peers.peer_database_url(POSTGRES_URL, peer) for peer in peers.PEERS}
    assert len(urls) == len(peers.PEERS)
    assert POSTGRES_URL not in urls
