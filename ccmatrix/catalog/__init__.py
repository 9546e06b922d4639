"""The catalog: the matrix as data: tiers (models), features (rows), cells and their tiers, the cassette layout.

Everything else in ccmatrix is driven from here and from ccmatrix.providers (the
columns).
"""

from ccmatrix.bundled import DEFAULT_CASSETTE_DIR
from ccmatrix.catalog import layout
from ccmatrix.catalog.cells import (
    CatalogError,
    Cell,
    CellTier,
    column_providers,
    feature,
    provider,
    proxy_model_name,
    select,
    tier,
    tiers_of,
)
from ccmatrix.catalog.faults import Fault
from ccmatrix.catalog.features import FAULT_FEATURES, FEATURE_ALIASES, FEATURES, STRUCTURED_OUTPUT_SCHEMA, Feature
from ccmatrix.catalog.status import Status, TierStatus
from ccmatrix.catalog.tiers import GPT_TIERS, TIERS, Tier
from ccmatrix.providers import ALL_PROVIDERS, AUTH_HOSTS, PROVIDERS, Columns, Provider

__all__ = [
    "ALL_PROVIDERS", "Columns", "GPT_TIERS", "column_providers", "tiers_of",
    "AUTH_HOSTS", "DEFAULT_CASSETTE_DIR", "layout", "CatalogError", "Cell", "CellTier", "FAULT_FEATURES", "FEATURES", "Fault", "FEATURE_ALIASES", "Feature", "PROVIDERS",
    "Provider", "STRUCTURED_OUTPUT_SCHEMA", "Status", "TIERS", "TierStatus", "Tier", "feature", "provider", "proxy_model_name",
    "select", "tier",
]
