"""Typed errors of the models package; each message names the model and says what to do next."""

from __future__ import annotations


class ModelError(Exception):
    """Base class: anything the models package reports about loading or running a model."""


class ModelLoadError(ModelError):
    """A model or its tokenizer could not be loaded (missing files, bad settings, no template)."""


class QuantizationUnavailableError(ModelLoadError):
    """4/8-bit loading was asked for where bitsandbytes or a CUDA device is missing."""


class GenerationError(ModelError):
    """Generation failed in the worker (for example: the prompt is longer than the model reads)."""


class PromptError(ModelError):
    """The chat template could not render the conversation (for example roles out of order)."""


class GenerationBusyError(ModelError):
    """The generation queue is full: every batch slot is decoding and the waiting line is too."""
