"""The text pipeline: torchtext's basic_english and vocabulary semantics."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.text import Vocab, basic_english, basic_english_reference, build_vocab


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Hello World", ["hello", "world"]),  # case
        ("It's fine", ["it", "'", "s", "fine"]),  # apostrophe split off
        ('He said "no"', ["he", "said", "no"]),  # double quotes removed
        ("The end.Really", ["the", "end", ".", "really"]),  # full stop
        ("one<br />two<br /><br />three", ["one", "two", "three"]),  # HTML line breaks
        ("<BR />shouted", ["shouted"]),  # line breaks are matched after lower-casing
        ("a,b (c) d!e?f", ["a", ",", "b", "(", "c", ")", "d", "!", "e", "?", "f"]),
        ("x;y:z", ["x", "y", "z"]),  # semicolons and colons become spaces
        ("  tabs\tand\n\nnewlines   ", ["tabs", "and", "newlines"]),  # whitespace runs
        ('a<br "/>b', ["a", "b"]),  # quotes go before line breaks, so this becomes one
        ("<br / >", ["<br", "/", ">"]),  # not a line break
        ("", []),
    ],
)
def test_basic_english_rules(text, tokens):
    assert basic_english_reference(text) == tokens
    assert basic_english(text) == tokens


alphabet = st.sampled_from(list("ab '\".,()!?;:<>/br \t\n\u00a0\u2028É")) | st.characters()


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=alphabet, max_size=80))
def test_fast_tokenizer_equals_torchtexts_rules_on_any_text(text):
    tokens = basic_english(text)
    assert tokens == basic_english_reference(text)
    assert all(token and not any(c.isspace() for c in token) for token in tokens)


def test_vocabulary_order_specials_ties_and_unknowns():
    vocab = build_vocab([["b", "a", "c", "a"], ["c", "d", "b", "a"]])
    # specials first; then by count (a:3; b, c: 2 each, tied -> alphabetical; d:1)
    assert vocab.itos == ["<unk>", "<pad>", "a", "b", "c", "d"]
    assert vocab["a"] == 2 and vocab["never-seen"] == 0
    assert vocab.lookup(["d", "zzz"]) == [5, 0]


def test_min_freq_and_max_tokens_count_the_specials():
    tokens = [["x"] * 5 + ["y"] * 3 + ["z"] * 1 + ["w"] * 3]
    assert build_vocab(tokens, min_freq=2).itos == ["<unk>", "<pad>", "x", "w", "y"]
    assert build_vocab(tokens, max_tokens=4).itos == ["<unk>", "<pad>", "x", "w"]


def test_a_special_in_the_text_uses_a_slot_as_in_torchtext():
    # torchtext keeps the first max_tokens - len(specials) ranked tokens, then drops specials
    vocab = build_vocab([["<unk>", "<unk>", "<unk>", "a", "a", "b"]], max_tokens=4)
    assert vocab.itos == ["<unk>", "<pad>", "a"]


def test_specials_keep_the_order_given():
    assert build_vocab([["a"]], specials=("<pad>", "<unk>")).itos[:2] == ["<pad>", "<unk>"]


@pytest.mark.parametrize(("kwargs", "message"), [({"min_freq": 0}, "min_freq"), ({"max_tokens": 2}, "max_tokens")])
def test_bad_vocabulary_settings_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_vocab([["a"]], **kwargs)


def test_a_vocabulary_needs_its_unknown_token():
    with pytest.raises(ValueError, match="unknown token"):
        Vocab(["a", "b"])
