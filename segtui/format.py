"""Number and bar formatting shared by both faces (plain strings; callers wrap them in Text).

Bars are Unicode block characters so they survive NO_COLOR and any terminal font: members are
drawn in solid eighths (``█▉▊▋▌▍▎▏``), the all-customers baseline in light shade (``░``), so the
two are told apart by shape, not by colour.
"""

from __future__ import annotations

from datetime import date, datetime

_EIGHTHS = " ▏▎▍▌▋▊▉█"
_SPARK = "▁▂▃▄▅▆▇█"


def bar(fraction: float, width: int) -> str:
    """A left-aligned bar of ``width`` cells filled to ``fraction`` (0-1), in eighths of a cell."""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[part] if part else "")
    return text.ljust(width)


def shade(fraction: float, width: int) -> str:
    """The baseline bar: whole cells of light shade (coarser on purpose: it is the background)."""
    fraction = min(max(fraction, 0.0), 1.0)
    return ("░" * round(fraction * width)).ljust(width)


def spark(values: list[float]) -> str:
    """One character per value, scaled to the largest value (shape, not size, is compared)."""
    top = max(values, default=0) or 1
    return "".join(" " if v <= 0 else _SPARK[min(7, int(v / top * 7.999))] for v in values)


def trend_spark(values) -> str:
    """One character per value, scaled from the lowest value to the highest (a trend's shape:
    a count moving between 980 and 1,020 fills the height); an unknown value (None) is a blank,
    a flat series the middle height."""
    known = [v for v in values if v is not None]
    if not known:
        return " " * len(values)
    low, high = min(known), max(known)
    if high == low:
        return "".join(" " if v is None else _SPARK[3] for v in values)
    return "".join(" " if v is None else _SPARK[min(7, int((v - low) / (high - low) * 7.999))] for v in values)


def count(n: int | None) -> str:
    return "—" if n is None else f"{n:,}"


def percent(fraction: float | None, digits: int = 1) -> str:
    return "—" if fraction is None else f"{fraction * 100:.{digits}f}%"


def money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def number(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def signed(n: int) -> str:
    return f"+{n:,}" if n > 0 else f"{n:,}" if n < 0 else "±0"


def cell(value) -> str:
    """A preview cell: dates without time, floats with 2 decimals, booleans as yes/no."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def feature(value, unit: str = "") -> str:
    """A feature's value as a person reads it, by its unit: money to the cent, shares as
    percentages, ratios and days to two decimals, timestamps to the minute, flags yes/no."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    if unit == "money":
        return money(float(value))
    if unit.startswith(("share", "probability")):
        return percent(float(value))
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return number(float(value), 2)


def moment(m) -> tuple[str, str]:
    """A timeline row's (when, amount) as both faces show it: the minute, and the order total
    or returned amount to the cent, or a review's rating."""
    when = m.at.strftime("%Y-%m-%d %H:%M") if m.at is not None else "undated"
    amount = "" if m.amount is None else (f"rating {m.amount:g}" if m.kind == "review" else money(m.amount))
    return when, amount


def order_line(line) -> tuple[str, str]:
    """An order line's (label, price): "2 × product 140 (Electronics)", "177.99"."""
    quantity = "" if line.quantity is None else f"{line.quantity:g} × "
    label = f"{quantity}product {line.product}" + (f" ({line.category})" if line.category else "")
    return label, money(line.price) if line.price is not None else ""
