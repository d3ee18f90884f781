"""Per-customer behavioural features as of a date.

``catalog`` describes them (fields, the families of SQL files in ``queries/features/`` that
compute them, what a shop's tables allow); ``build`` runs those files in DuckDB and makes the
``customer_features`` table. This package re-exports what the rest of segtui uses.
"""

from segtui.core.features.build import (
    BUILD_MEMORY_LIMIT,
    FeatureSet,
    Progress,
    build_features,
    data_dates,
    default_as_of,
    field_stats,
)
from segtui.core.features.catalog import (
    FEATURE_TABLE,
    FIELDS,
    FIELDS_BY_NAME,
    VALUE_COUNT_MAX,
    Field,
    count_values,
    feature_availability,
    load_query,
    render,
)

__all__ = [
    "BUILD_MEMORY_LIMIT", "FEATURE_TABLE", "FIELDS", "FIELDS_BY_NAME", "VALUE_COUNT_MAX", "FeatureSet", "Field",
    "Progress", "build_features", "count_values", "data_dates", "default_as_of", "feature_availability", "field_stats",
    "load_query", "render",
]
