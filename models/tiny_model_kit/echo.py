"""Repeat-after-me requests: the plainest lesson in copying text from the context.

A model learns to copy (the "induction heads" that match a token seen before and repeat what
followed it) far sooner from short repeat requests than from long tool results; the skill then
carries over to copying names and numbers out of search results.
"""

from __future__ import annotations

import random

from threadloom.models.tiny_model_kit.arithmetic_dialogues import number
from threadloom.models.tiny_model_kit.names import WORDS, invented_word, person_name

REQUESTS = (
    "Repeat after me: {t}",
    "Please repeat: {t}",
    "Say this back to me: {t}",
    "Echo: {t}",
    "Copy exactly: {t}",
    "repeat {t}",
)


def echo_request(rng: random.Random) -> tuple[str, str]:
    """A request to repeat a random string of names, words and numbers, and that string."""
    pieces = [_piece(rng) for _ in range(rng.randint(3, 14))]
    text = (", " if rng.random() < 0.3 else " ").join(pieces)
    return rng.choice(REQUESTS).format(t=text), text


def _piece(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.35:
        return person_name(rng, female=rng.random() < 0.5)
    if kind < 0.6:
        return invented_word(rng, 1, 4)
    if kind < 0.8:
        return number(rng)
    words = WORDS[rng.choice(("nationalities", "title_words", "surnames"))]
    return rng.choice(words).lower() if rng.random() < 0.5 else rng.choice(words)
