"""The text pipeline, with torchtext's semantics (torchtext itself no longer loads with
current torch): the ``basic_english`` tokenizer and ``build_vocab_from_iterator``.

`basic_english` is the fast implementation; `basic_english_reference` applies torchtext's
regular expressions one by one and is kept as the specification the fast one is tested
against (and as the baseline of the preparation benchmark).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

# torchtext's rules, applied in this order after lower-casing, then split on whitespace.
BASIC_ENGLISH_RULES = [
    (r"\'", " '  "),
    (r"\"", ""),
    (r"\.", " . "),
    (r"<br \/>", " "),
    (r",", " , "),
    (r"\(", " ( "),
    (r"\)", " ) "),
    (r"\!", " ! "),
    (r"\?", " ? "),
    (r"\;", " "),
    (r"\:", " "),
    (r"\s+", " "),
]
_COMPILED_RULES = [(re.compile(pattern), replacement) for pattern, replacement in BASIC_ENGLISH_RULES]

# The same rules as plain string replacements (much faster than regexes). Only `"` must go
# before `<br />` (removing a quote can join a line break, as in `<br "/>`); no other rule
# can create or break one. Whitespace runs need no rule: `split()` ignores them.
_REPLACEMENTS = (
    ("'", " ' "),
    (".", " . "),
    (",", " , "),
    ("(", " ( "),
    (")", " ) "),
    ("!", " ! "),
    ("?", " ? "),
    (";", " "),
    (":", " "),
)


def basic_english(text: str) -> list[str]:
    """torchtext's ``get_tokenizer("basic_english")``, with string methods instead of regexes."""
    text = text.lower().replace('"', "").replace("<br />", " ")
    for old, new in _REPLACEMENTS:
        text = text.replace(old, new)
    return text.split()


def basic_english_reference(text: str) -> list[str]:
    """torchtext's implementation: each rule as a regular expression, in order."""
    text = text.lower()
    for pattern, replacement in _COMPILED_RULES:
        text = pattern.sub(replacement, text)
    return text.split()


class Vocab:
    """Token <-> index. Unknown tokens map to the index of ``<unk>``."""

    def __init__(self, tokens: Sequence[str], unk: str = "<unk>") -> None:
        self.itos = list(tokens)
        self.stoi = {token: index for index, token in enumerate(self.itos)}
        if unk not in self.stoi:
            raise ValueError(f"the vocabulary needs the unknown token {unk!r}")
        self.unk_index = self.stoi[unk]

    def __len__(self) -> int:
        return len(self.itos)

    def __getitem__(self, token: str) -> int:
        return self.stoi.get(token, self.unk_index)

    def lookup(self, tokens: Iterable[str]) -> list[int]:
        get, unk = self.stoi.get, self.unk_index
        return [get(token, unk) for token in tokens]


def build_vocab(
    token_lists: Iterable[Iterable[str]],
    specials: Sequence[str] = ("<unk>", "<pad>"),
    min_freq: int = 1,
    max_tokens: int | None = None,
) -> Vocab:
    """torchtext's ``build_vocab_from_iterator``: specials first, in the order given; then
    tokens by descending frequency, ties alphabetical; tokens rarer than ``min_freq``
    dropped; at most ``max_tokens`` entries, specials included."""
    if min_freq < 1:
        raise ValueError(f"min_freq must be >= 1, got {min_freq}")
    if max_tokens is not None and max_tokens <= len(specials):
        raise ValueError(f"max_tokens ({max_tokens}) must exceed the number of specials ({len(specials)})")
    counter: Counter[str] = Counter()
    for tokens in token_lists:
        counter.update(tokens)
    return vocab_from_counts(counter, specials, min_freq, max_tokens)


def vocab_from_counts(
    counter: Mapping[str, int], specials: Sequence[str], min_freq: int, max_tokens: int | None
) -> Vocab:
    """The vocabulary torchtext builds from token counts, in torchtext's order of operations:
    rank by (-count, token), keep the first ``max_tokens - len(specials)``, then drop the
    specials and the tokens rarer than ``min_freq``, then put the specials first."""
    ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    if max_tokens is not None:
        ranked = ranked[: max_tokens - len(specials)]
    special_set = set(specials)
    words = [token for token, count in ranked if count >= min_freq and token not in special_set]
    return Vocab([*specials, *words], unk=specials[0] if specials else "<unk>")
