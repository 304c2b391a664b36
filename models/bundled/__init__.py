"""The bundled model: a tiny Llama trained here to run the agent's ReAct loop offline.

`python -m threadloom.models.bundled.build` (or `make tiny-model`) rebuilds it into
`BUNDLED_MODEL_DIR`;
`python -m threadloom.models.bundled.evaluate` measures what it can do with the real tools.
"""

from pathlib import Path

#: The value of THREADLOOM_MODEL that names this model.
BUNDLED_NAME = "bundled"
BUNDLED_MODEL_DIR = Path(__file__).parent / "tiny-agent"

__all__ = ["BUNDLED_MODEL_DIR", "BUNDLED_NAME"]
