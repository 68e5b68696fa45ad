"""Property tests: the indexed matcher returns exactly what the brute-force oracle does."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from newsalert.rules import CompiledRules, Document
from newsalert.rules.evaluation.document import FieldText
from newsalert.rules.evaluation.evaluate import Evaluation
from newsalert.rules.evaluation.explain import _term_spans
from newsalert.rules.evaluation.oracle import _word_at as oracle_word_at
from newsalert.rules.evaluation.oracle import brute_force_match
from newsalert.rules.language.model import (
    FIELDS,
    And,
    Near,
    Node,
    Not,
    Or,
    Rule,
    Term,
    TermMode,
    Word,
)
from newsalert.text import Stemmer

stem = Stemmer().stem

# A tiny vocabulary so that random rules and texts overlap often; inflections share stems
# and prefixes ("run", "running", "runner") to exercise stems vs. wildcards.
VOCAB = ["run", "running", "runner", "test", "tests", "alpha", "omega"]
PREFIXES = ["run", "tes", "alp", "zzz"]

field_sets = st.sampled_from([FIELDS, ("title",), ("body",)])
stem_words = st.sampled_from(VOCAB).map(lambda w: Word(stem(w)))
prefix_words = st.sampled_from(PREFIXES).map(lambda p: Word(p, prefix=True))
words = st.one_of(stem_words, stem_words, prefix_words)


@st.composite
def terms(draw: st.DrawFn, *, near_operand: bool = False) -> Term:
    fields = draw(field_sets)
    modes: list[TermMode] = ["word", "phrase"] if near_operand else ["word", "window", "phrase"]
    mode = draw(st.sampled_from(modes))
    count = 1 if mode == "word" else draw(st.integers(2, 3))
    ws = tuple(draw(st.lists(words, min_size=count, max_size=count)))
    window = draw(st.integers(1, 6))
    text = " ".join(w.value + ("*" if w.prefix else "") for w in ws)
    return Term(words=ws, mode=mode, window=window, fields=fields, text=f"{mode}:{text}")


@st.composite
def nears(draw: st.DrawFn) -> Near:
    size = draw(st.integers(2, 3))
    operands = tuple(
        tuple(draw(st.lists(terms(near_operand=True), min_size=1, max_size=2))) for _ in range(size)
    )
    distances = tuple(draw(st.lists(st.integers(0, 4), min_size=size - 1, max_size=size - 1)))
    return Near(operands, distances)


nodes: st.SearchStrategy[Node] = st.recursive(
    st.one_of(terms(), terms(), nears()),
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3).map(lambda c: And(tuple(c))),
        st.lists(children, min_size=1, max_size=3).map(lambda c: Or(tuple(c))),
        children.map(Not),
    ),
    max_leaves=6,
)

rules = st.lists(
    st.tuples(
        nodes,
        st.sampled_from([(), ("en",), ("de",)]),
        st.sampled_from([(), ("afp",)]),
    ),
    min_size=1,
    max_size=12,
).map(
    lambda items: tuple(
        Rule(id=f"r{i:03d}", expr=expr, languages=langs, sources=sources, tags=("t",))
        for i, (expr, langs, sources) in enumerate(items)
    )
)

texts = st.lists(st.sampled_from([*VOCAB, "x", "y", "Running", "TESTS"]), max_size=25).map(" ".join)


@settings(max_examples=400, deadline=None)
@given(
    rule_set=rules,
    title=texts,
    body=texts,
    language=st.sampled_from([None, "en", "de"]),
    source=st.sampled_from([None, "AFP", "bbc"]),
)
def test_indexed_equals_brute_force(
    rule_set: tuple[Rule, ...], title: str, body: str, language: str | None, source: str | None
) -> None:
    doc = Document.from_text(title=title, body=body, language=language, source=source)
    compiled = CompiledRules(rule_set)
    expected = brute_force_match(rule_set, doc)
    assert compiled.match(doc) == expected
    # The tree evaluator behind `rules explain` gives the same verdicts.
    explain_view = Evaluation(
        Document.from_text(title=title, body=body, language=language, source=source)
    )
    assert [r.id for r in rule_set if explain_view.rule(r)] == [m.rule_id for m in expected]


@settings(max_examples=150, deadline=None)
@given(rule_set=rules, body=texts)
def test_result_independent_of_rule_order(rule_set: tuple[Rule, ...], body: str) -> None:
    doc = Document.from_text(body=body)
    forward = CompiledRules(rule_set).match(doc)
    backward = CompiledRules(tuple(reversed(rule_set))).match(doc)
    assert forward == backward
    assert [m.rule_id for m in forward] == sorted(m.rule_id for m in forward)


@settings(max_examples=200, deadline=None)
@given(node=nodes)
def test_anchor_clauses_are_necessary(node: Node) -> None:
    # If a rule fires, every clause of its anchors has a key in the document.
    from newsalert.rules.evaluation.oracle import rule_fires
    from newsalert.rules.indexing.anchors import BIGRAM_SEP, AnchorExtractor

    rule = Rule(id="r", expr=node)
    clauses = AnchorExtractor().clauses(node) or []
    for body in ["run tests alpha", "runner alpha omega test", "tests x run", ""]:
        doc = Document.from_text(body=body, title="running")
        if rule_fires(rule, doc):
            stems = doc.all_stems() | doc.all_bigrams(BIGRAM_SEP)
            tokens = doc.all_tokens()
            for clause in clauses:
                assert clause.stems & stems or any(
                    t.startswith(p) for p in clause.prefixes for t in tokens
                )


@settings(max_examples=300, deadline=None)
@given(
    leaves=st.lists(st.one_of(terms(), nears()), min_size=1, max_size=8),
    title=texts,
    body=texts,
)
def test_single_terms_indexed_equals_brute_force(leaves: list[Node], title: str, body: str) -> None:
    # Bare terms fire often on these texts, so anchor mistakes show up quickly.
    rule_set = tuple(Rule(id=f"r{i:03d}", expr=leaf) for i, leaf in enumerate(leaves))
    doc = Document.from_text(title=title, body=body)
    assert CompiledRules(rule_set).match(doc) == brute_force_match(rule_set, doc)


def _naive_window_spans(term: Term, text: FieldText) -> list[tuple[int, int]]:
    """Every window start, every word: the obvious (quadratic) definition of the marks."""
    marks: set[int] = set()
    n = len(text.tokens)
    for first in range(n):
        window = range(first, min(n, first + term.window))
        found = [[i for i in window if oracle_word_at(w, text, i)] for w in term.words]
        if all(found):
            marks.update(i for positions in found for i in positions)
    return [(i, i) for i in sorted(marks)]


@settings(max_examples=300, deadline=None)
@given(term=terms(), body=texts)
def test_explained_window_marks_equal_the_naive_definition(term: Term, body: str) -> None:
    text = Document.from_text(body=body).fields["body"]
    if term.mode == "window":
        assert _term_spans(term, text) == _naive_window_spans(term, text)
