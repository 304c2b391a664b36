"""What the scripted agent reads in a fact: the sentence that gives an age, and the relations.

The same reader serves the synthetic world and the real corpus, which share one style:
"Vittoria Ceretti is an Italian model, born 7 June 1998, age 28. Her ... is ...".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from threadloom.tools.fact import Fact

RELATIONS = (
    "wife", "husband", "girlfriend", "boyfriend", "partner", "fiancée", "fiancé",
    "sister", "brother", "mother", "father", "son", "daughter",
)
FEMALE_RELATIONS = frozenset(("wife", "girlfriend", "fiancée", "sister", "mother", "daughter"))
_AGE_SENTENCE = re.compile(r"^(.*?, age (\d+)\.)")
# A full stop ends a sentence only before a capital ("Robert Downey Jr. is" goes on).
_FIRST_SENTENCE = re.compile(r"^(.*?[.!?])(?= [A-Z]|$)")
_RELATION = re.compile(rf"\b(?:His|Her) ({'|'.join(RELATIONS)}) is ([A-Z][^.]*)\.")
_FEMALE = re.compile(r"\b(?:She|Her|actress|businesswoman)\b")
_MALE = re.compile(r"\b(?:He|His|actor|businessman)\b")


@dataclass(frozen=True)
class Reading:
    """A fact as the agent uses it."""

    fact: Fact
    first_sentence: str
    age_sentence: str | None
    age: str | None
    relations: dict[str, str]
    pronoun: str


def read(fact: Fact) -> Reading:
    """What `fact` says first, its age and relations, and the pronoun ("his"/"her")."""
    match = _AGE_SENTENCE.match(fact.text)
    first = _FIRST_SENTENCE.match(fact.text)
    relations = {relation: name for relation, name in _RELATION.findall(fact.text)}
    return Reading(
        fact=fact,
        first_sentence=match.group(1) if match else first.group(1) if first else fact.text,
        age_sentence=match.group(1) if match else None,
        age=match.group(2) if match else None,
        relations=relations,
        pronoun=_pronoun(fact.text),
    )


def relation_pronoun(relation: str) -> str:
    """How a question refers to the related person: "her" for a wife, "his" for a husband."""
    if relation == "partner":
        return "their"
    return "her" if relation in FEMALE_RELATIONS else "his"


def _pronoun(text: str) -> str:
    female, male = _FEMALE.search(text), _MALE.search(text)
    if female and (not male or female.start() < male.start()):
        return "her"
    return "his" if male else "their"
