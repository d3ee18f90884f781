"""segtui: a terminal explorer for behavioural customer segments over shop data."""

import os

__version__ = "0.1.0"

# The predictive fits (numpy and scipy over a few thousand buyers) gain nothing from OpenBLAS's
# threads, which spin on a second core meanwhile: twice the CPU for the same time, taken from
# the DuckDB work beside them (the explorer's segment history counts dates on two connections).
# Set before numpy loads; a value the user set is kept.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
