"""Cells and their tiers, looked up and selected by id.

A *cell* is a feature x a provider: one square of the published matrix. A *cell
tier* is one model (tier) on a cell: the unit that is run, recorded in one
cassette and judged in one `TierResult`; a cell's verdict aggregates its tiers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ccmatrix.catalog import layout
from ccmatrix.catalog.features import FAULT_FEATURES, FEATURE_ALIASES, FEATURES, Feature
from ccmatrix.catalog.tiers import FAMILIES, Tier
from ccmatrix.errors import CcmatrixError
from ccmatrix.providers import ALL_PROVIDERS, PROVIDERS, Columns, Provider


class CatalogError(CcmatrixError, ValueError):
    """An unknown feature, provider or tier, named by the user or a file."""


_FEATURES = {f.id: f for f in FEATURES + FAULT_FEATURES}
_PROVIDERS = {p.id: p for p in ALL_PROVIDERS}
_TIERS = {t.id: t for family in FAMILIES.values() for t in family}
_TIERS_BY_ALIAS = {t.alias: t for t in _TIERS.values()}


def _lookup(table: dict, key: str, kind: str):
    try:
        return table[key]
    except KeyError:
        known = ", ".join(table)
        raise CatalogError(f"unknown {kind} {key!r}; known: {known}") from None


def feature(feature_id: str) -> Feature:
    return _lookup(_FEATURES, FEATURE_ALIASES.get(feature_id, feature_id), "feature")


def provider(provider_id: str) -> Provider:
    return _lookup(_PROVIDERS, provider_id, "provider")


def tier(tier_id: str) -> Tier:
    """A tier by id ("sonnet") or Claude Code alias ("claude-sonnet-4-6")."""
    if tier_id in _TIERS_BY_ALIAS:
        return _TIERS_BY_ALIAS[tier_id]
    return _lookup(_TIERS, tier_id, "tier")


def tiers_of(p: Provider) -> tuple[Tier, ...]:
    """The tiers a provider's cells are judged on (its family's)."""
    return FAMILIES[p.tier_family]


def column_providers(which: Columns = Columns.PUBLISHED) -> tuple[Provider, ...]:
    """The providers of a view: the published five, or all nine."""
    return PROVIDERS if which is Columns.PUBLISHED else ALL_PROVIDERS


def proxy_model_name(p: Provider, t: Tier) -> str:
    """The aliases of the published matrix: "claude-haiku-4-5" (first party),
    "claude-haiku-4-5-bedrock-converse", "claude-haiku-4-5-vertex", ..."""
    return t.alias + p.alias_suffix


@dataclass(frozen=True)
class Cell:
    """A feature x a provider: one square of the published matrix."""

    feature: Feature
    provider: Provider

    @property
    def id(self) -> str:
        return f"{self.feature.id}/{self.provider.id}"


@dataclass(frozen=True)
class CellTier:
    """One tier of a cell: what a cassette holds and a TierResult judges."""

    feature: Feature
    provider: Provider
    tier: Tier

    @property
    def id(self) -> str:
        return f"{self.feature.id}/{self.provider.id}/{self.tier.id}"

    @property
    def cell(self) -> Cell:
        return Cell(self.feature, self.provider)

    @property
    def proxy_model(self) -> str:
        """The model name the LiteLLM proxy serves this (provider, tier) under."""
        return proxy_model_name(self.provider, self.tier)

    @property
    def model_id(self) -> str:
        return self.provider.model_ids[self.tier.id]

    @property
    def not_applicable_reason(self) -> str | None:
        return self.feature.not_applicable_reason(self.provider.id, self.tier.id) or self.provider.not_applicable

    def cassette_path(self, root: Path, release: str) -> Path:
        """Its cassette in the tree of Claude Code `release` (catalog.layout)."""
        return layout.cassette_path(root, release, self.feature.id, self.provider.id, self.tier.id)

    def native_path(self, root: Path, release: str, provider: Provider | None = None) -> Path:
        """Its native reference in `release`'s tree (`provider`: another provider's, at the same tier)."""
        return layout.native_path(root, release, self.feature.id, (provider or self.provider).id, self.tier.id)

    @classmethod
    def parse(cls, cell_tier_id: str) -> "CellTier":
        parts = cell_tier_id.split("/")
        if len(parts) != 3:
            raise CatalogError(f"cell tier id {cell_tier_id!r} is not feature/provider/tier")
        found = cls(feature(parts[0]), provider(parts[1]), tier(parts[2]))
        if found.tier not in tiers_of(found.provider):
            known = ", ".join(t.id for t in tiers_of(found.provider))
            raise CatalogError(f"cell tier id {cell_tier_id!r}: {found.provider.id} runs the tiers {known}")
        return found


def select(
    features: Iterable[str] = (),
    providers: Iterable[str] = (),
    tiers: Iterable[str] = (),
    implemented_only: bool = True,
    faults: bool = False,
    columns: Columns = Columns.PUBLISHED,
) -> list[CellTier]:
    """Cell tiers in matrix order, narrowed by ids (empty = the published rows, plus the
    fault rows with `faults`, on the view's columns: `columns`, the published five by
    default; a provider named in `providers` is in whatever the view). A column runs the
    rows it backs (Provider.rows) on its own tiers. Unknown ids raise CatalogError."""
    fs = [feature(f) for f in features] or list(FEATURES) + (list(FAULT_FEATURES) if faults else [])
    ps = [provider(p) for p in providers] or list(column_providers(columns))
    ts = [tier(t) for t in tiers]
    return [
        CellTier(f, p, t)
        for f in FEATURES + FAULT_FEATURES
        if f in fs and (f.implemented or not implemented_only)
        for p in ALL_PROVIDERS
        if p in ps and p.backs(f.id)
        for t in tiers_of(p)
        if not ts or t in ts
    ]
