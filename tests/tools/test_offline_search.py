"""Offline search: BM25 ranking, the bundled corpus and the exact text a model reads."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

import pytest

from threadloom.tools.bm25 import CorpusError, SearchIndex, tokenize
from threadloom.tools.fact import Fact
from threadloom.tools.search import (
    CORPUS_PATH,
    bundled_index,
    format_results,
    make_search_tool,
    search,
)

AGES_AS_OF = datetime.date(2026, 11, 21)
MONTHS = "January February March April May June July August September October November December"
PERSON = re.compile(
    r"^(?P<name>.+?) is .+, born (?P<day>\d{1,2}) (?P<month>[A-Z][a-z]+) (?P<year>\d{4}), "
    r"age (?P<age>\d+)\. \S"
)


def test_tokenize_folds_case_accents_possessives_and_stop_words() -> None:
    assert tokenize("Who is Leonardo DiCaprio's girlfriend?") == [
        "leonardo",
        "dicaprio",
        "girlfriend",
    ]
    assert tokenize("Beyoncé’s husband") == ["beyonce", "husband"]
    assert tokenize("the, of; and!") == []


@pytest.mark.parametrize(
    "query", ["Leo DiCaprio girlfriend", "Who is Leonardo DiCaprio's girlfriend?"]
)
def test_finds_dicaprio_and_his_girlfriend(query: str) -> None:
    titles = [fact.title for fact in bundled_index().search(query)]
    assert titles[0] == "Leonardo DiCaprio"
    assert "Vittoria Ceretti" in titles


@pytest.mark.parametrize("query", ["Vittoria Ceretti age", "How old is Vittoria Ceretti?"])
def test_finds_vittoria_ceretti_first(query: str) -> None:
    best = bundled_index().search(query)[0]
    assert best.title == "Vittoria Ceretti"
    assert ", age 28." in best.text


def test_title_terms_outrank_mentions_in_text() -> None:
    index = SearchIndex(
        [
            Fact("Paris", "Paris is the capital of France."),
            Fact("Eiffel Tower", "The Eiffel Tower stands in Paris, the capital."),
        ]
    )
    assert [fact.title for fact in index.search("Paris")] == ["Paris", "Eiffel Tower"]


def test_rare_terms_outweigh_common_ones() -> None:
    index = SearchIndex(
        [Fact(f"Fact {n}", f"A common word number {n}.") for n in range(20)]
        + [Fact("Unusual", "A common word and a zeppelin.")]
    )
    assert index.search("common zeppelin", k=1) == [
        Fact("Unusual", "A common word and a zeppelin.")
    ]


def test_search_returns_at_most_k_and_only_matching_facts() -> None:
    index = SearchIndex([Fact("Alpha", "First letter."), Fact("Beta", "Second letter.")])
    assert len(index.search("letter", k=1)) == 1
    assert index.search("gamma") == []
    assert index.search("") == []
    assert SearchIndex([]).search("anything") == []


def test_format_results_is_one_line_per_fact() -> None:
    facts = [Fact("A", "Text a."), Fact("B", "Text b.")]
    assert format_results("q", facts) == "A: Text a.\nB: Text b."
    assert format_results("nothing here", []) == "No results found for: nothing here"


def test_search_tool_answers_from_the_bundled_corpus() -> None:
    assert search.name == "search"
    assert list(search.args) == ["query"]
    lines = search.invoke({"query": "Leo DiCaprio girlfriend"}).split("\n")
    assert lines[0] == (
        "Leonardo DiCaprio: Leonardo DiCaprio is an American actor, born 11 November 1974, "
        "age 52. His girlfriend is Vittoria Ceretti. He won the Academy Award for Best Actor "
        "for The Revenant."
    )
    assert lines[1] == (
        "Vittoria Ceretti: Vittoria Ceretti is an Italian model, born 7 June 1998, age 28. "
        "She is the girlfriend of Leonardo DiCaprio."
    )
    assert len(lines) == 3
    assert search.invoke({"query": "xyzzy"}) == "No results found for: xyzzy"


def test_search_tool_without_a_key_is_offline() -> None:
    tool = make_search_tool(tavily_api_key=None)
    assert "offline" in tool.description
    assert "Tokyo: Tokyo is the capital of Japan." in tool.invoke({"query": "capital of Japan"})


def test_corpus_records_are_valid_and_numerous() -> None:
    records = [json.loads(line) for line in CORPUS_PATH.read_text(encoding="utf-8").splitlines()]
    assert len(records) >= 300
    for record in records:
        assert set(record) == {"title", "text"}
        assert record["title"].strip() and record["text"].strip()
    titles = [record["title"] for record in records]
    assert len(set(titles)) == len(titles)


def test_every_person_fact_states_the_age_as_of_the_reference_date() -> None:
    people = [fact for fact in bundled_index().facts if ", born " in fact.text]
    assert len(people) >= 150
    for fact in people:
        match = PERSON.match(fact.text)
        assert match, f"person fact out of style: {fact.text}"
        assert match["name"] == fact.title
        born = datetime.date(
            int(match["year"]), MONTHS.split().index(match["month"]) + 1, int(match["day"])
        )
        had_birthday = (AGES_AS_OF.month, AGES_AS_OF.day) >= (born.month, born.day)
        assert int(match["age"]) == AGES_AS_OF.year - born.year - (not had_birthday), fact.title


def test_seed_facts_are_in_the_corpus() -> None:
    facts = {fact.title: fact.text for fact in bundled_index().facts}
    assert facts["Vittoria Ceretti"] == (
        "Vittoria Ceretti is an Italian model, born 7 June 1998, age 28. "
        "She is the girlfriend of Leonardo DiCaprio."
    )
    assert "His girlfriend is Vittoria Ceretti." in facts["Leonardo DiCaprio"]


def test_from_jsonl_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "facts.jsonl"
    path.write_text('{"title": "A", "text": "Alpha."}\n\n{"title": "B", "text": "Beta."}\n')
    assert SearchIndex.from_jsonl(path).facts == [Fact("A", "Alpha."), Fact("B", "Beta.")]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"title": "A", "text": "Alpha."}\nnot json\n', r"facts.jsonl:2 is not valid JSON"),
        ('{"title": "A"}\n', r"facts.jsonl:1 needs non-empty string fields"),
        ('{"title": "", "text": "x"}\n', r"facts.jsonl:1 needs non-empty string fields"),
        ('["A", "Alpha."]\n', r"facts.jsonl:1 needs non-empty string fields"),
    ],
)
def test_from_jsonl_names_the_bad_line(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "facts.jsonl"
    path.write_text(content)
    with pytest.raises(CorpusError, match=reason):
        SearchIndex.from_jsonl(path)


def test_from_jsonl_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="Cannot read the search corpus"):
        SearchIndex.from_jsonl(tmp_path / "missing.jsonl")


def test_the_corpus_is_read_on_the_first_search_not_when_the_tool_is_made() -> None:
    bundled_index.cache_clear()
    tool = make_search_tool()
    assert bundled_index.cache_info().currsize == 0
    assert "DiCaprio" in tool.invoke({"query": "Leonardo DiCaprio"})
    assert bundled_index.cache_info().currsize == 1
