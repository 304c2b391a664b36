"""The entry point of a compute worker: `python -m threadloom.tools.worker_process IN OUT BYTES
MODULE...` imports the modules, then serves calls on pipes IN and OUT (see `tools.workers`)."""

from __future__ import annotations

import importlib
import sys
from multiprocessing.connection import Connection

from threadloom.tools.workers import serve_calls

if __name__ == "__main__":
    for module in sys.argv[4:]:
        importlib.import_module(module)
    serve_calls(
        Connection(int(sys.argv[1]), writable=False),
        Connection(int(sys.argv[2]), readable=False),
        int(sys.argv[3]),
    )
