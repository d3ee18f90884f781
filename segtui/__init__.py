"""segtui: a terminal explorer for behavioural customer segments over shop data."""

__version__ = "0.1.0"
