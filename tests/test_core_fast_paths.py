"""Whole-column paths of the core give what the plain way gives, value for value.

Each property builds inputs with hypothesis, runs the fast path the core takes on a big
ledger, and compares it with a plain reference written out here (pandas' own
conversion, a loop over the values).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receivables.core import frame as F

TEXT_DTYPE = F.text_dtype()

# Texts of any kind Arrow can hold (no lone surrogates), empty ones and None.
CELL_TEXTS = st.one_of(
    st.none(),
    st.just(""),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=8),
)


@pytest.mark.skipif(TEXT_DTYPE is None, reason="pandas keeps texts as objects here")
@settings(max_examples=80)
@given(texts=st.lists(CELL_TEXTS, max_size=40))
def test_text_array_is_pandas_text_array_of_the_values(texts):
    fast = F.text_array(texts)
    plain = pd.array(np.array(texts, dtype=object), dtype=TEXT_DTYPE)
    assert fast.dtype == plain.dtype
    assert len(fast) == len(plain)
    assert fast.isna().tolist() == [text is None for text in texts]
    assert fast.tolist() == plain.tolist()


@pytest.mark.skipif(TEXT_DTYPE is None, reason="pandas keeps texts as objects here")
def test_text_array_refuses_a_lone_surrogate_as_pandas_does():
    with pytest.raises(UnicodeEncodeError):
        pd.array(np.array(["a\ud800"], dtype=object), dtype=TEXT_DTYPE)
    with pytest.raises(UnicodeEncodeError):
        F.text_array(["a\ud800"])
