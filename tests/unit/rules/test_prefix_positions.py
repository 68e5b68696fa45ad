"""FieldText.prefix_positions: every token position whose token starts with the prefix."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from newsalert.rules.evaluation.document import FieldText

tokens = st.lists(st.sampled_from(["run", "runner", "running", "rung", "ru", "r", "sun", "é"]))
prefixes = st.sampled_from(["", "r", "ru", "run", "runn", "rung", "s", "z", "é", "running"])


@given(tokens, st.lists(prefixes, min_size=1, max_size=4))
def test_prefix_positions_are_the_tokens_that_start_with_it(
    words: list[str], asked: list[str]
) -> None:
    field = FieldText.of(" ".join(words))
    for prefix in asked:  # several prefixes on one field, repeats included
        expected = [i for i, token in enumerate(field.tokens) if token.startswith(prefix)]
        assert field.prefix_positions(prefix) == expected
