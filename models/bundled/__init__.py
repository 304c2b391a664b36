"""The bundled model: a tiny Llama trained here to run the agent's ReAct loop offline.

Only its files and the name that selects it ship; the kit that builds and evaluates it is
dev-only, in `models/tiny_model_kit/` (`make tiny-model`).
"""

from pathlib import Path

#: The value of THREADLOOM_MODEL that names this model.
BUNDLED_NAME = "bundled"
BUNDLED_MODEL_DIR = Path(__file__).parent / "tiny-agent"

__all__ = ["BUNDLED_MODEL_DIR", "BUNDLED_NAME"]
