"""Completion for the filter language: what the word under the cursor could become.

Pure Python over data computed once per workspace (field names, functions, operators, segment
names, the top values of text fields), so it runs on every keystroke on the UI thread without
touching DuckDB. The filter bar uses it twice: Textual's ``Suggester`` shows the first candidate
in grey (``tab`` or ``→`` accepts it) and a hint line lists the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from textual.suggester import Suggester

from segtui.core.filters import FUNCTIONS, OPERATORS

#: Keywords offered as words (the multi-word ones complete as a whole).
KEYWORDS = ("AND", "OR", "NOT", "IN", "NOT IN", "BETWEEN", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL",
            "TRUE", "FALSE", "NULL", "CASE", "WHEN", "THEN", "ELSE", "END", "CAST", "DATE", "INTERVAL")  # fmt: skip

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_OPEN_STRING = re.compile(r"'((?:[^']|'')*)$")
_SEGMENT_CALL = re.compile(r"in_segment\s*\(\s*$", re.IGNORECASE)
_FIELD_BEFORE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=|!=|<>|(?:NOT\s+)?(?:I?LIKE|IN)\s*\(?|,)\s*(?:'[^']*'\s*,\s*)*$",
                           re.IGNORECASE)  # fmt: skip


@dataclass
class Vocabulary:
    """What can be completed in one workspace."""

    fields: dict[str, str] = field(default_factory=dict)  # name -> description
    segments: list[str] = field(default_factory=list)
    values: dict[str, list[str]] = field(default_factory=dict)  # text field -> top values

    def describe(self, word: str) -> str | None:
        """One line about a field, function or operator, for the hint line."""
        key = word.strip()
        if key in self.fields:
            return f"{key}: {self.fields[key]}"
        if key.lower() in FUNCTIONS:
            return FUNCTIONS[key.lower()]
        if key.upper() in OPERATORS:
            return f"{key.upper()}: {OPERATORS[key.upper()]}"
        return None


@dataclass
class Completion:
    start: int  # where the replaced word starts in the text
    word: str  # what was typed of it
    candidates: list[str]  # full replacements, best first
    kind: str  # "field", "segment", "value"


def complete(text: str, vocab: Vocabulary, limit: int = 12) -> Completion | None:
    """Candidates for the word at the end of ``text`` (the cursor is at the end while typing)."""
    quoted = _OPEN_STRING.search(text)
    if quoted and text[: quoted.start()].count("'") % 2 == 0:
        typed = quoted.group(1)
        before = text[: quoted.start()]
        if _SEGMENT_CALL.search(before):
            pool, kind = vocab.segments, "segment"
        else:
            match = _FIELD_BEFORE.search(before)
            pool, kind = (vocab.values.get(match.group(1), []) if match else []), "value"
        names = _rank(typed, pool)
        escaped = [name.replace("'", "''") + "'" for name in names]
        if kind == "segment":
            escaped = [name + ")" for name in escaped]
        return Completion(quoted.start() + 1, typed, escaped[:limit], kind) if escaped else None
    if text.count("'") % 2:
        return None
    word = _WORD.search(text)
    if not word:
        return None
    typed = word.group(0)
    pool = list(vocab.fields) + [f"{name}(" for name in FUNCTIONS] + list(KEYWORDS)
    names = [name for name in _rank(typed, pool) if name.rstrip("(").casefold() != typed.casefold()]
    if typed.isupper() or typed.islower():
        names = [name if name in vocab.fields or name.endswith("(") else _same_case(name, typed) for name in names]
    return Completion(word.start(), typed, names[:limit], "field") if names else None


def _rank(typed: str, pool: list[str]) -> list[str]:
    """Prefix matches first (in pool order), then matches inside a word (``spent`` -> total_spent)."""
    key = typed.casefold()
    prefix = [name for name in pool if name.casefold().startswith(key)]
    inside = [name for name in pool if key and key in name.casefold() and name not in prefix]
    return prefix + inside


def _same_case(keyword: str, typed: str) -> str:
    return keyword.lower() if typed.islower() else keyword.upper()


class FilterSuggester(Suggester):
    """Textual's inline suggestion: the first prefix candidate, shown in grey after the cursor."""

    def __init__(self, vocabulary: Vocabulary):
        super().__init__(use_cache=False, case_sensitive=True)
        self.vocabulary = vocabulary

    async def get_suggestion(self, value: str) -> str | None:
        found = complete(value, self.vocabulary)
        if not found:
            return None
        for candidate in found.candidates:
            if candidate.casefold().startswith(found.word.casefold()):
                return value[: found.start] + found.word + candidate[len(found.word) :]
        return None
