"""`python -m bench.fake_server`: `threadloom serve` over the zero-cost model, on a free port.

Everything but the model is what `threadloom serve` runs (`service.cli.commands.main`: the same app,
logging, uvicorn server and shutdown), with the tools of `bench.fake_graph`. Storage comes from
`THREADLOOM_DB` / `THREADLOOM_DATABASE_URL`. Uvicorn prints
"Uvicorn running on http://127.0.0.1:PORT" once it accepts connections.
"""

from __future__ import annotations

import os

from bench.fake_graph import TOOLS, ZeroCostModel
from threadloom.service.cli.commands import main as threadloom_main
from threadloom.service.deployment.builtin_agent import agent_graph


def main() -> int:
    os.environ["THREADLOOM_TOOLS"] = ",".join(TOOLS)
    return threadloom_main(
        ["serve", "--host", "127.0.0.1", "--port", "0"],
        lambda settings: {"agent": agent_graph(settings, ZeroCostModel())},
    )


if __name__ == "__main__":
    raise SystemExit(main())
