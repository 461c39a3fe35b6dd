"""Escaping cell text for the worksheet XML: many texts at once as each on its own."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from receivables.xlsx.worksheet import _inline_text, _inline_texts
from receivables.xlsx.xmlutil import escape_cell_text, escape_cell_texts

# Characters escaping changes or drops, "_xHHHH_" pieces, spaces and line breaks at the
# ends, and the private-use character the texts are joined with.
_texts = st.lists(
    st.text(st.sampled_from("ab_x0041F<>&\"' \n\t\x01\x0b\ufffe\ue000é北"), max_size=12),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(texts=_texts)
def test_texts_escaped_together_as_each_alone(texts):
    assert escape_cell_texts(texts) == [escape_cell_text(text) for text in texts]


@settings(max_examples=200, deadline=None)
@given(texts=_texts.map(lambda texts: [text for text in texts if text]))
def test_inline_texts_as_each_alone(texts):
    assert _inline_texts(texts) == [_inline_text(text) for text in texts]


def test_literal_escapes_stay_literal_when_joined():
    texts = ["_x0041_", "a_x", "0041_b", "<&>"]
    assert escape_cell_texts(texts) == ["_x005F_x0041_", "a_x", "0041_b", "&lt;&amp;&gt;"]
