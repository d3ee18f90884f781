"""Money as people write it: '€37,32', '37,32 €', '1.234,56', '$1,234.56', '1 234,56', '(12.00)'.

A money column that arrives as text is read with ONE notation for the whole column, decided
from a sample of its distinct values: a decimal comma or a decimal point, thousands grouped by
'.', ',', a space (also no-break and narrow no-break) or an apostrophe, a currency sign or code
before or after, a minus or parentheses for a negative amount. DuckDB does the reading: the
notation becomes the SQL macro ``parse_money(value, mark)`` in the shop's view, a few regular
expressions per row, so it stays a column expression at millions of rows. This module only
picks the mark and says what it picked, or why it could not.

The macro is also what a mapping file writes by hand (``total = "parse_money(Betrag, ',')"``):
the hint for a column segtui cannot decide, and the reading it does itself, are the same SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

#: Contract columns that hold money (the contract types them DOUBLE).
MONEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "orders": ("total", "discount"),
    "order_items": ("price",),
    "products": ("price",),
    "returns": ("amount",),
}

#: How many leading rows the notation is decided from (their distinct values). Reading the
#: first rows costs nothing at any size; a value further down in another notation becomes
#: NULL in the view, and `segtui check` counts and shows it.
SAMPLE_ROWS = 200_000

MACRO = "parse_money"

_SPACE = r"[ \t\x{00A0}\x{202F}\x{2009}]"  # space, tab, no-break, narrow no-break, thin space
_GAP = _SPACE + "*"
_CURRENCY = r"(?:[A-Z]{0,3}\p{Sc}|[A-Z]{3}|[Kk]r\.?|Fr\.?|zł|Kč|Ft)"
_MINUS = "[-−+]"  # also U+2212, the typographic minus; '+' says positive
_GROUPS = (".", ",", "'", " ", "\u00a0", "\u202f", "\u2009")  # what may sit between thousands


def _amount(mark: str) -> str:
    """The digits of an amount with decimal ``mark``; grouped thousands first, so that
    ``regexp_extract`` (leftmost-first) takes '1,234.56' whole and not just '1'."""
    group = r"[,\x{00A0}\x{202F}\x{2009} ']" if mark == "." else r"[.\x{00A0}\x{202F}\x{2009} ']"
    decimals = r"(?:\.\d+)?" if mark == "." else r"(?:,\d+)?"
    return rf"(?:\d{{1,3}}(?:{group}\d{{3}})+{decimals}|\d+{decimals})"


def _pattern(mark: str) -> str:
    """A whole value: optional sign, currency before or after, the amount; or the same without
    a sign between parentheses (accounting negatives)."""
    amount = _amount(mark)
    unsigned = rf"(?:{_CURRENCY}{_GAP})?{amount}(?:{_GAP}{_CURRENCY})?"
    signed = rf"(?:{_MINUS}{_GAP}(?:{_CURRENCY}{_GAP})?|{_CURRENCY}{_GAP}(?:{_MINUS}{_GAP})?)?{amount}(?:{_GAP}{_CURRENCY})?"
    return rf"^{_GAP}(?:\({_GAP}{unsigned}{_GAP}\)|{signed}){_GAP}$"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def strict_sql(value: str, mark: str) -> str:
    """SQL reading the VARCHAR expression ``value`` as money with decimal ``mark``: a DOUBLE,
    NULL when the value is not written that way (never a misread: '1.50' under a decimal comma
    is NULL, not 150). The DOUBLE is the one a plain '1234.56' casts to.

    Once the whole value is known to match, the amount is extracted and its thousands
    separators dropped with plain ``replace`` (a global regexp_replace costs twice as much at a
    million rows), and any minus or '(' in the value is its sign.
    """
    digits = f"regexp_extract({value}, {_lit(_amount(mark))})"
    for separator in (g for g in _GROUPS if g != mark):
        digits = f"replace({digits}, {_lit(separator)}, '')"
    if mark == ",":
        digits = f"replace({digits}, ',', '.')"
    negative = f"contains({value}, '-') OR contains({value}, '−') OR contains({value}, '(')"
    return (
        f"CASE WHEN regexp_full_match({value}, {_lit(_pattern(mark))}) "
        f"THEN CASE WHEN {negative} THEN -1 ELSE 1 END * TRY_CAST({digits} AS DOUBLE) END"
    )


def create_macro(con: duckdb.DuckDBPyConnection) -> None:
    """``parse_money(value, mark)``: ``value`` (any type, read as text) as money with decimal
    mark ',' or '.'. With '.', what a plain cast reads ('1e3') is read as before."""
    text = "CAST(v AS VARCHAR)"
    con.execute(
        f"CREATE OR REPLACE TEMP MACRO {MACRO}(v, mark) AS CASE "
        f"WHEN mark = ',' THEN {strict_sql(text, ',')} "
        f"WHEN mark = '.' THEN COALESCE(TRY_CAST({text} AS DOUBLE), {strict_sql(text, '.')}) END"
    )


def money_sql(expr: str, mark: str) -> str:
    """The view's SQL for a money column read with ``mark``."""
    return f"{MACRO}(({expr}), {_lit(mark)})"


MARK_WORDS = {",": "decimal comma", ".": "decimal point"}


@dataclass(frozen=True)
class MoneyReading:
    """What segtui made of one text money column.

    ``kind``: 'read' (``mark`` is used in the view), 'ambiguous' (every value that has a
    separator reads two ways: '1,234' is 1234 or 1.234), 'mixed' (values disagree: '€37,32' and
    '$1.50'), 'not money' (no value reads as an amount). For the last three the view keeps the
    plain cast, and ``mark`` is the reading a mapping hint proposes (None for 'not money').
    """

    kind: str
    mark: str | None
    example: str | None = None  # a value that shows the notation (or the trouble)
    value: float | None = None  # the example as read with ``mark``
    other: str | None = None  # 'mixed': a value in the other notation; 'ambiguous': its other reading
    details: tuple[str, ...] = ()  # "'.' for thousands", "€ sign", "(…) for negatives"
    decimals: bool = True  # some value shows the decimal mark (else: whole amounts)

    @property
    def read(self) -> bool:
        return self.kind == "read"

    def notation(self) -> str:
        """How the column was read: "decimal comma with '.' for thousands and € sign"."""
        words = MARK_WORDS[self.mark] if self.decimals else "whole amounts"
        return words + (f" with {_join(self.details)}" if self.details else "")

    def trouble(self) -> str:
        """Why the column is not read, as one clause."""
        if self.kind == "mixed":
            return (f"its values disagree on the decimal mark ({self.example!r} has a {MARK_WORDS[self.mark]}, "
                    f"{self.other!r} a {MARK_WORDS[_flip(self.mark)]})")
        if self.kind == "ambiguous":
            return f"it is ambiguous: {self.example!r} may be {show_amount(self.value)} or {self.other}, and no value says which"
        return f"it holds no amounts (e.g. {self.example!r})"

    def proposal(self) -> str | None:
        """What the hint's mapping line does, in words; None when there is nothing to propose."""
        if self.kind == "mixed":
            return f"to read it with a {MARK_WORDS[self.mark]} (values written otherwise become empty)"
        if self.kind == "ambiguous":
            return f"if '{_flip(self.mark)}' separates thousands ({self.example!r} = {show_amount(self.value)})"
        return None


def _flip(mark: str) -> str:
    return "," if mark == "." else "."


def _join(parts: tuple[str, ...]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def show_amount(value: float | None) -> str:
    """An amount as written in a message: 1234 for 1234.0, 37.32 as it is."""
    if value is None:
        return "?"
    return f"{value:.0f}" if value == int(value) else repr(value)


def detect(con: duckdb.DuckDBPyConnection, relation: str, expr: str) -> MoneyReading | None:
    """Decide how the text money column ``expr`` of ``relation`` is written.

    None when there is nothing to do: the column is not text, is empty, or every sampled value
    already casts plainly. Otherwise each sampled distinct value is read both ways; values that
    read only one way decide the mark, and values that read both ways alike ('5', '$12',
    '1 234') go with either. Values that read neither way ('n/a') do not vote: they become NULL
    and `segtui check` reports them.
    """
    kinds = con.execute(f"DESCRIBE SELECT ({expr}) AS v FROM {relation}").fetchall()
    if not kinds or str(kinds[0][1]).upper() != "VARCHAR":
        return None
    sample = (f"SELECT DISTINCT v FROM (SELECT CAST(({expr}) AS VARCHAR) AS v FROM {relation} LIMIT {SAMPLE_ROWS}) "
              "WHERE v IS NOT NULL AND trim(v) <> ''")
    longest = "first(v ORDER BY length(v) DESC, v)"
    row = con.execute(
        f"WITH sample AS ({sample}), "
        f"readings AS (SELECT v, TRY_CAST(v AS DOUBLE) AS plain, {strict_sql('v', '.')} AS d, {strict_sql('v', ',')} AS c FROM sample) "
        "SELECT count(*) FILTER (WHERE plain IS NULL), count(plain), "
        f"count(*) FILTER (WHERE d IS NOT NULL AND c IS NULL), {longest} FILTER (WHERE d IS NOT NULL AND c IS NULL), "
        f"count(*) FILTER (WHERE c IS NOT NULL AND d IS NULL), {longest} FILTER (WHERE c IS NOT NULL AND d IS NULL), "
        f"{longest} FILTER (WHERE c <> d), {longest} FILTER (WHERE c = d AND plain IS NULL), "
        "min(v) FILTER (WHERE c IS NULL AND d IS NULL), "
        f"{longest} FILTER (WHERE plain IS NULL AND d IS NOT NULL), {longest} FILTER (WHERE plain IS NULL AND c IS NOT NULL) "
        "FROM readings"
    ).fetchone()
    not_plain, plain, only_dot, dot_example, only_comma, comma_example, two_ways, alike, neither, dot_shown, comma_shown = row
    if not not_plain:
        return None

    def read_as(mark: str, value: str) -> float | None:
        return con.execute(f"SELECT {strict_sql('v', mark)} FROM (SELECT CAST(? AS VARCHAR) AS v)", [value]).fetchone()[0]

    if only_dot and only_comma:
        mark, example, other = (",", comma_example, dot_example) if only_comma > only_dot else (".", dot_example, comma_example)
        return MoneyReading("mixed", mark, example, read_as(mark, example), other)
    if only_dot or only_comma or (alike and not two_ways):
        mark = "," if only_comma else "."
        example = comma_shown if mark == "," else dot_shown  # a value that needed the reading shows it best
        if example is None:
            return None  # the values that do not cast plainly ('n/a') do not read this way either: nothing to do
        details, decimals = _details(con, sample, mark)
        return MoneyReading("read", mark, example, read_as(mark, example), details=details, decimals=decimals)
    if two_ways:
        by_dot, by_comma = read_as(".", two_ways), read_as(",", two_ways)
        mark = "." if abs(by_dot) >= abs(by_comma) else ","  # money seldom has three decimals: thousands first
        return MoneyReading("ambiguous", mark, two_ways, read_as(mark, two_ways), show_amount(read_as(_flip(mark), two_ways)))
    if plain:
        return None  # plain numbers and a few values that are no amount ('n/a'): check reports those
    return MoneyReading("not money", None, neither)


_SPACES = r" \x{00A0}\x{202F}\x{2009}"
_THOUSANDS = {".": ("[.]", "'.'"), ",": ("[,]", "','"), "'": ("[']", "'"), " ": ("[" + _SPACES + "]", "a space")}
_DIGIT = r"\d"
_NOT_CURRENCY = r"[0-9\t" + _SPACES + r".,()+−-]"


def _details(con, sample: str, mark: str) -> tuple[tuple[str, ...], bool]:
    """The parts of the notation the sample shows besides the decimal mark, as words, and
    whether any value has decimals at all."""
    amount = f"regexp_extract(v, {_lit(_amount(mark))})"
    currency = f"regexp_replace(v, {_lit(_NOT_CURRENCY)}, '', 'g')"
    grouped = [f"bool_or(regexp_matches({amount}, {_lit(_DIGIT + cls + _DIGIT + '{3}')}))" for cls, _ in _THOUSANDS.values()]
    decimals = f"bool_or(regexp_matches({amount}, {_lit('[' + mark + ']' + _DIGIT + '+$')}))"
    row = con.execute(
        f"WITH sample AS ({sample}), readable AS (SELECT v FROM sample WHERE {strict_sql('v', mark)} IS NOT NULL) "
        f"SELECT {', '.join(grouped)}, list(DISTINCT {currency}) FILTER (WHERE {currency} <> ''), "
        f"bool_or(regexp_matches(v, '^[^0-9]*[(]')), {decimals} FROM readable"
    ).fetchone()
    details = [f"{word} for thousands" for (sep, (_, word)), seen in zip(_THOUSANDS.items(), row[:4]) if seen and sep != mark]
    currencies = sorted(row[4] or [])
    if currencies:
        kind = "sign" if all(not ch.isalpha() for c in currencies for ch in c) else "code"
        details.append(f"{' / '.join(currencies[:3])} {kind}" + ("s" if len(currencies) > 1 else ""))
    if row[5]:
        details.append("(…) for negatives")
    return tuple(details), bool(row[6])
