"""ccmatrix/catalog/: the matrix as data (selection, lookups, names, host ownership)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccmatrix import catalog
from ccmatrix.catalog import CatalogError, CellTier, Feature, cells, layout
from ccmatrix.catalog.features import CliRun
from ccmatrix.client.claude_cli import BUNDLED_VERSIONS


def ids(cells: list[CellTier]) -> list[str]:
    return [c.id for c in cells]


def test_ids_are_unique_and_tiers_have_model_ids_everywhere():
    for table in (catalog.FEATURES, catalog.PROVIDERS, catalog.TIERS):
        assert len({x.id for x in table}) == len(table)
    for p in catalog.PROVIDERS:
        assert set(p.model_ids) == {t.id for t in catalog.TIERS}, p.id


def test_select_all_is_the_full_implemented_matrix_in_order():
    expected = [f"{f.id}/{p.id}/{t.id}" for f in catalog.FEATURES if f.implemented
                for p in catalog.PROVIDERS for t in catalog.TIERS]
    assert ids(catalog.select()) == expected
    everything = catalog.select(implemented_only=False)
    assert len(everything) == len(catalog.FEATURES) * len(catalog.PROVIDERS) * len(catalog.TIERS)
    assert ids(everything)[:3] == [f"{catalog.FEATURES[0].id}/{catalog.PROVIDERS[0].id}/{t.id}" for t in catalog.TIERS]


def test_select_keeps_matrix_order_whatever_the_argument_order():
    cells = catalog.select(
        features=["basic_messaging_streaming", "basic_messaging_non_streaming"],
        providers=["azure", "anthropic"],
        tiers=["opus", "haiku"],
    )
    assert ids(cells) == [
        "basic_messaging_non_streaming/anthropic/haiku",
        "basic_messaging_non_streaming/anthropic/opus",
        "basic_messaging_non_streaming/azure/haiku",
        "basic_messaging_non_streaming/azure/opus",
        "basic_messaging_streaming/anthropic/haiku",
        "basic_messaging_streaming/anthropic/opus",
        "basic_messaging_streaming/azure/haiku",
        "basic_messaging_streaming/azure/opus",
    ]


def test_select_narrows_by_each_axis_and_accepts_tier_aliases():
    assert {c.provider.id for c in catalog.select(providers=["vertex_ai"])} == {"vertex_ai"}
    assert {c.tier.id for c in catalog.select(tiers=["claude-sonnet-4-6"])} == {"sonnet"}
    one = catalog.select(features=["basic_messaging_streaming"], providers=["bedrock_converse"], tiers=["haiku"])
    assert ids(one) == ["basic_messaging_streaming/bedrock_converse/haiku"]
    # duplicates do not duplicate cells
    assert ids(catalog.select(features=["basic_messaging_streaming"] * 2, providers=["azure", "azure"], tiers=["opus"])) == [
        "basic_messaging_streaming/azure/opus"]


def test_select_unimplemented_rows_only_when_asked(monkeypatch):
    row = Feature(id="future_row", name="No client yet")
    monkeypatch.setattr(cells, "FEATURES", catalog.FEATURES + (row,))
    monkeypatch.setitem(cells._FEATURES, row.id, row)
    assert not row.implemented
    assert catalog.select(features=[row.id]) == []
    assert all(c.feature is not row for c in catalog.select())
    assert {c.feature.id for c in catalog.select(features=[row.id], implemented_only=False)} == {row.id}
    assert ids(catalog.select(implemented_only=False))[-1] == f"future_row/{catalog.PROVIDERS[-1].id}/{catalog.TIERS[-1].id}"


@pytest.mark.parametrize(
    ("kwargs", "kind", "bad", "known"),
    [
        ({"features": ["basic_messaging_streaming", "telepathy"]}, "feature", "telepathy",
         catalog.FEATURES + catalog.FAULT_FEATURES),
        ({"providers": ["groq"]}, "provider", "groq", catalog.ALL_PROVIDERS),
        ({"tiers": ["claude-3-opus"]}, "tier", "claude-3-opus", catalog.TIERS + catalog.GPT_TIERS),
    ],
)
def test_unknown_ids_raise_catalog_error_naming_the_known_ones(kwargs, kind, bad, known):
    with pytest.raises(CatalogError) as err:
        catalog.select(**kwargs)
    message = str(err.value)
    assert message.startswith(f"unknown {kind} {bad!r}; known: ")
    assert message.endswith(", ".join(x.id for x in known))
    assert isinstance(err.value, ValueError)  # the CLI and the addon catch it as such


def test_lookups_by_id_alias_and_legacy_id():
    assert catalog.feature("extended_thinking") is catalog.feature("thinking")
    assert catalog.tier("claude-opus-4-7") is catalog.tier("opus")
    assert catalog.provider("bedrock_invoke").litellm_prefix == "bedrock/invoke/"
    with pytest.raises(CatalogError, match="unknown provider 'Anthropic'"):
        catalog.provider("Anthropic")  # ids are case-sensitive


def test_cell_parse_and_its_properties():
    cell = CellTier.parse("basic_messaging_streaming/bedrock_converse/haiku")
    assert cell == CellTier(catalog.feature("basic_messaging_streaming"), catalog.provider("bedrock_converse"), catalog.tier("haiku"))
    assert cell.id == "basic_messaging_streaming/bedrock_converse/haiku"
    assert cell.proxy_model == "claude-haiku-4-5-bedrock-converse"
    assert cell.model_id == "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    # one tree per Claude Code release, named by it
    assert cell.cassette_path(Path("/c"), "2.1.332") == Path(
        "/c/claude-code-2.1.332/basic_messaging_streaming/bedrock_converse/haiku.json")
    assert layout.releases(catalog.DEFAULT_CASSETTE_DIR) == list(BUNDLED_VERSIONS)
    # the tier may be given by alias; the id is canonical
    assert CellTier.parse("basic_messaging_streaming/vertex_ai/claude-sonnet-4-6").id == "basic_messaging_streaming/vertex_ai/sonnet"
    assert CellTier.parse("extended_thinking/azure/opus").feature.id == "thinking"


@pytest.mark.parametrize("bad", ["basic_messaging_streaming/anthropic", "a/b/c/d", "", "basic_messaging_streaming//haiku"])
def test_cell_parse_rejects_malformed_ids(bad):
    with pytest.raises(CatalogError):
        CellTier.parse(bad)


def test_cell_parse_error_names_the_shape():
    with pytest.raises(CatalogError, match=r"cell tier id 'x/y' is not feature/provider/tier"):
        CellTier.parse("x/y")


@pytest.mark.parametrize(
    ("provider", "tier", "name"),
    [
        # the published matrix's aliases (its errors name them): first party has no suffix
        ("anthropic", "haiku", "claude-haiku-4-5"),
        ("bedrock_invoke", "sonnet", "claude-sonnet-4-6-bedrock-invoke"),
        ("bedrock_converse", "haiku", "claude-haiku-4-5-bedrock-converse"),
        ("vertex_ai", "opus", "claude-opus-4-7-vertex"),
        ("azure", "sonnet", "claude-sonnet-4-6-azure"),
    ],
)
def test_proxy_model_names(provider, tier, name):
    assert catalog.proxy_model_name(catalog.provider(provider), catalog.tier(tier)) == name


def test_proxy_model_names_are_unique():
    names = [catalog.proxy_model_name(p, t) for p in catalog.PROVIDERS for t in catalog.TIERS]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize(
    ("host", "owners"),
    [
        ("api.anthropic.com", ["anthropic"]),
        ("bedrock-runtime.us-east-1.amazonaws.com", ["bedrock_invoke", "bedrock_converse"]),
        ("bedrock-runtime.eu-west-3.amazonaws.com", ["bedrock_invoke", "bedrock_converse"]),
        ("us-east5-aiplatform.googleapis.com", ["vertex_ai"]),
        ("aiplatform.googleapis.com", ["vertex_ai"]),
        ("oauth2.googleapis.com", ["vertex_ai"]),
        ("ccmatrix-foundry.services.ai.azure.com", ["azure"]),
        ("bedrock.us-east-1.amazonaws.com", []),  # control plane, not runtime
        ("api.anthropic.com.evil.test", []),
        ("anthropic.com", []),
        ("services.ai.azure.com", []),
        ("generativelanguage.googleapis.com", []),
        ("api.openai.com", []),
        ("ccmatrix.control", []),
    ],
)
def test_provider_host_ownership(host, owners):
    for p in catalog.PROVIDERS:
        assert p.owns_host(host) is (p.id in owners)


def test_auth_hosts_belong_to_a_provider_and_have_a_cassette_path():
    for host, name in catalog.AUTH_HOSTS.items():
        assert any(p.owns_host(host) for p in catalog.ALL_PROVIDERS), host
        assert layout.auth_cassette_path(Path("/c"), name) == Path(f"/c/auth/{name}.json")


def test_not_applicable_lookup_order():
    f = Feature(id="x", name="X", cli=CliRun("hi"), not_applicable={
        ("azure", "haiku"): "exact",
        ("azure", "*"): "provider-wide",
        ("*", "opus"): "tier-wide",
    })
    assert f.not_applicable_reason("azure", "haiku") == "exact"
    assert f.not_applicable_reason("azure", "opus") == "provider-wide"  # provider wildcard beats tier wildcard
    assert f.not_applicable_reason("vertex_ai", "opus") == "tier-wide"
    assert f.not_applicable_reason("vertex_ai", "sonnet") is None
    everywhere = Feature(id="y", name="Y", not_applicable={("*", "*"): "nowhere"})
    assert everywhere.not_applicable_reason("anthropic", "haiku") == "nowhere"
    assert not everywhere.implemented


def test_cell_not_applicable_reason_from_the_catalog():
    with_na = [(f, key, reason) for f in catalog.FEATURES for key, reason in f.not_applicable.items()]
    if not with_na:
        pytest.skip("no row declares not-applicable cells")
    for feature, (provider, tier), reason in with_na:
        providers = catalog.PROVIDERS if provider == "*" else [catalog.provider(provider)]
        tiers = catalog.TIERS if tier == "*" else [catalog.tier(tier)]
        for p in providers:
            for t in tiers:
                assert CellTier(feature, p, t).not_applicable_reason, (feature.id, p.id, t.id)
    assert CellTier.parse("basic_messaging_streaming/anthropic/haiku").not_applicable_reason is None


def test_load_bearing_fields_combine_provider_and_feature():
    p = catalog.provider("bedrock_converse")
    f = Feature(id="x", name="X", probe="count_tokens", fields={"*": ("body.a",), "bedrock_converse": ("body.b",), "azure": ("body.c",)})
    assert f.load_bearing(p) == p.base_fields + ("body.a", "body.b")
    assert "body.inferenceConfig.maxTokens" in p.base_fields
    assert "headers.anthropic-version" in catalog.provider("anthropic").base_fields
    for provider in catalog.PROVIDERS:
        assert {"method", "path", "body.messages", "body.system"} <= set(provider.base_fields), provider.id
