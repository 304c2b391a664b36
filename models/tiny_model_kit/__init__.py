"""The kit that builds, trains and evaluates the bundled tiny model (dev-only: not in the wheel).

`make tiny-model` runs `python -m threadloom.models.tiny_model_kit.build`; the result is written
to `models/bundled/tiny-agent/`, which the runtime loads.
"""
