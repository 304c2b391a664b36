"""Random names for the synthetic world: common given names and surnames, and invented ones.

Invented names (syllables glued together) keep the model from memorising a name list: it has
to copy whatever name a search result holds, letter by letter.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

WORDS = json.loads(Path(__file__).with_name("words.json").read_text(encoding="utf-8"))
_CODAS = ("", "", "", "n", "r", "l", "s", "th", "nd", "tt", "x")
_PARTICLES = ("van ", "de ", "da ", "Mc")
_ACCENTS = str.maketrans("aeio", "áéíó")


def person_name(rng: random.Random, female: bool) -> str:
    """A first name and a surname, half of them invented."""
    if rng.random() < 0.5:
        first = rng.choice(WORDS["female_names" if female else "male_names"])
    else:
        first = invented_word(rng, 2, 3) + ("a" if female else "")
    last = rng.choice(WORDS["surnames"]) if rng.random() < 0.5 else invented_word(rng, 2, 3)
    if rng.random() < 0.1:
        last = rng.choice(_PARTICLES) + last
    return f"{first} {last}"


def invented_word(rng: random.Random, least: int, most: int) -> str:
    """A pronounceable capitalised word of `least` to `most` syllables, sometimes accented."""
    syllables = [
        rng.choice(WORDS["syllable_onsets"]) + rng.choice(WORDS["syllable_vowels"])
        for _ in range(rng.randint(least, most))
    ]
    word = "".join(syllables) + rng.choice(_CODAS)
    if rng.random() < 0.08:
        vowels = [i for i, char in enumerate(word) if char in "aeio"]
        if vowels:
            at = rng.choice(vowels)
            word = word[:at] + word[at].translate(_ACCENTS) + word[at + 1 :]
    return word.capitalize()


def nickname(name: str) -> str:
    """How people shorten a full name in a question: "Leo DiCaprio" for "Leonardo DiCaprio"."""
    first, _, last = name.partition(" ")
    return f"{first[:3]} {last}" if len(first) >= 6 and last else name
