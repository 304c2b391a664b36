"""A synthetic encyclopedia written in the style of the bundled corpus (tools/data/facts.jsonl).

People with ages and partners, historical figures and invented countries: search results over
these teach the model to read names and numbers out of whatever the search tool returns.
"""

from __future__ import annotations

import random

from threadloom.models.tiny_model_kit.names import WORDS, invented_word, person_name
from threadloom.tools.fact import Fact

CURRENT_YEAR = 2026
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
# (relation of the first person, gender of the second, relation back, gender of the first)
RELATION_PAIRS = (
    ("wife", True, "husband", False),
    ("husband", False, "wife", True),
    ("girlfriend", True, "boyfriend", False),
    ("boyfriend", False, "girlfriend", True),
    ("partner", True, "partner", False),
    ("partner", False, "partner", True),
    ("fiancée", True, "fiancé", False),
    ("fiancé", False, "fiancée", True),
    ("sister", True, "brother", False),
    ("brother", False, "sister", True),
    ("sister", True, "sister", True),
    ("mother", True, "son", False),
    ("father", False, "daughter", True),
)
_PROFESSIONS = (
    ("actor", "actress"),
    ("singer", "singer"),
    ("model", "model"),
    ("footballer", "footballer"),
    ("tennis player", "tennis player"),
    ("businessman", "businesswoman"),
    ("politician", "politician"),
    ("film director", "film director"),
    ("writer", "writer"),
    ("comedian", "comedian"),
    ("chef", "chef"),
    ("rapper", "rapper"),
    ("painter", "painter"),
    ("architect", "architect"),
    ("computer scientist", "computer scientist"),
    ("chess player", "chess player"),
    ("journalist", "journalist"),
    ("swimmer", "swimmer"),
    ("pianist", "pianist"),
    ("actor and producer", "actress and producer"),
)
_DEEDS = (
    "starred in {work}",
    "won an Academy Award for {work}",
    "wrote the novel {work}",
    "founded the company {word}",
    "plays for {word} City",
    "directed {work}",
    "has won {n} major titles",
    "sang the hit song {work}",
)


def build_world(rng: random.Random, couples: int, singles: int, countries: int) -> list[Fact]:
    """Facts about `couples` related pairs, `singles` more people and `countries` countries."""
    facts: list[Fact] = []
    for _ in range(couples):
        facts.extend(_related_pair(rng))
    for _ in range(singles):
        female = rng.random() < 0.5
        name = person_name(rng, female)
        facts.append(
            _historical(rng, name, female)
            if rng.random() < 0.2
            else _living(rng, name, female, relation=None)
        )
    for _ in range(countries):
        facts.extend(_country(rng))
    rng.shuffle(facts)
    return facts


def _related_pair(rng: random.Random) -> list[Fact]:
    relation, other_female, back, own_female = rng.choice(RELATION_PAIRS)
    name, other = person_name(rng, own_female), person_name(rng, other_female)
    if relation in {"sister", "brother"} or back in {"son", "daughter"}:
        other = other.split(" ", 1)[0] + " " + name.split(" ", 1)[1]
    facts = [_living(rng, name, own_female, relation=(relation, other))]
    if rng.random() < 0.85:
        if rng.random() < 0.5:
            facts.append(_living(rng, other, other_female, relation=(back, name)))
        else:
            pronoun = "She" if other_female else "He"
            sentence = f"{pronoun} is the {relation} of {name}."
            facts.append(_living(rng, other, other_female, relation=None, tail=sentence))
    return facts


def _living(
    rng: random.Random,
    name: str,
    female: bool,
    relation: tuple[str, str] | None,
    tail: str | None = None,
) -> Fact:
    age = rng.randint(18, 95)
    month = rng.randrange(12)
    year = CURRENT_YEAR - age - (1 if month == 11 else 0)
    sentences = [
        f"{name} is {_described(rng, female)}, born {rng.randint(1, 28)} {MONTHS[month]} {year}, "
        f"age {age}."
    ]
    if relation:
        sentences.append(f"{'Her' if female else 'His'} {relation[0]} is {relation[1]}.")
    if tail:
        sentences.append(tail)
    if rng.random() < 0.6:
        sentences.append(_deed(rng, female))
    if relation and len(sentences) == 3 and rng.random() < 0.3:
        sentences[1:] = sentences[:0:-1]
    return Fact(title=name, text=" ".join(sentences))


def _historical(rng: random.Random, name: str, female: bool) -> Fact:
    born = rng.randint(1400, 1940)
    died = born + rng.randint(25, 95)
    dates = (
        f"{rng.randint(1, 28)} {rng.choice(MONTHS)} {born} – "
        f"{rng.randint(1, 28)} {rng.choice(MONTHS)} {died}"
    )
    return Fact(name, f"{name} ({dates}) was {_described(rng, female)}. {_deed(rng, female)}")


def _country(rng: random.Random) -> list[Fact]:
    country = invented_word(rng, 2, 3) + rng.choice(("ia", "land", "stan", "a", ""))
    capital = invented_word(rng, 2, 3)
    millions = rng.choice((rng.randint(1, 150), round(rng.uniform(1, 20), 1)))
    thousands = rng.randrange(50, 990) * 1000
    return [
        Fact(
            country,
            f"{country} is a country in {rng.choice(('Europe', 'Asia', 'Africa', 'South America'))}"
            f" with about {millions} million inhabitants. Its capital is {capital}.",
        ),
        Fact(
            capital,
            f"{capital} is the capital of {country}. It has about {thousands:,} inhabitants.",
        ),
    ]


def _described(rng: random.Random, female: bool) -> str:
    nationality = rng.choice(WORDS["nationalities"])
    profession = rng.choice(_PROFESSIONS)[female]
    article = "an" if nationality[0] in "AEIOU" else "a"
    return f"{article} {nationality} {profession}"


def _deed(rng: random.Random, female: bool) -> str:
    work = " ".join(rng.sample(WORDS["title_words"], rng.randint(1, 3)))
    deed = rng.choice(_DEEDS).format(work=work, word=invented_word(rng, 2, 3), n=rng.randint(2, 30))
    return f"{'She' if female else 'He'} {deed}."
