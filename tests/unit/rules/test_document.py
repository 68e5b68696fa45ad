"""Document lookup structures: stem positions and adjacent stem pairs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from newsalert.rules import Document
from newsalert.text import Stemmer

stem = Stemmer().stem

WORDS = ["run", "running", "test", "alpha", "omega", "x"]
texts = st.lists(st.sampled_from(WORDS), max_size=20).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(texts, texts, st.sets(st.sampled_from([stem(w) for w in WORDS])))
def test_bigrams_with_heads_are_the_full_pairs_starting_with_a_head(
    title: str, body: str, heads: set[str]
) -> None:
    doc = Document.from_text(title=title, body=body)
    full = doc.all_bigrams("|")
    assert doc.all_bigrams("|", frozenset(heads)) == {p for p in full if p.split("|")[0] in heads}


@settings(max_examples=200, deadline=None)
@given(texts)
def test_stem_positions_list_every_position_of_the_stem(body: str) -> None:
    text = Document.from_text(body=body).fields["body"]
    for value in {*text.stems, "absent"}:
        assert text.stem_positions(value) == [i for i, s in enumerate(text.stems) if s == value]
