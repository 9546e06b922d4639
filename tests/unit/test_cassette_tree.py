"""The bundled cassette tree as a whole: every implemented cell tier has its cassette,
recorded with both legs by the right client, and the tree stays small enough to review."""

from __future__ import annotations

from ccmatrix import catalog
from ccmatrix.cassette import load
from ccmatrix.client.claude_cli import BUNDLED_VERSIONS, CLAUDE_CODE_VERSION

# Two legs per cassette now (what the CLI sent LiteLLM, what LiteLLM sent the providers),
# and the long-context row's ~840,000-character prompt (one blob): about 7 MB in all.
MAX_TREE_BYTES = 8 * 1024 * 1024


def test_every_cell_has_a_loadable_cassette_or_is_not_applicable():
    root = catalog.DEFAULT_CASSETTE_DIR
    for cell in catalog.select():
        path = cell.cassette_path(root)
        if cell.not_applicable_reason:
            assert not path.exists(), f"stale cassette for a not-applicable cell: {path}"
            continue
        cassette = load(path, root)
        assert (cassette.cell.feature, cassette.cell.provider, cassette.cell.tier) == (
            cell.feature.id, cell.provider.id, cell.tier.id)
        assert cassette.cell.proxy_model == cell.proxy_model


def test_every_cassette_holds_the_client_leg_its_row_sends():
    root = catalog.DEFAULT_CASSETTE_DIR
    for cell in catalog.select():
        if cell.not_applicable_reason:
            continue
        cassette = load(cell.cassette_path(root), root)
        assert cassette.client, f"{cell.id}: no client leg"
        if cell.feature.probe is not None:
            assert cassette.provenance.client == "probe", cell.id
            continue
        # recorded by the pinned CLI, run as the live harness runs it
        assert cassette.provenance.client == "cli", cell.id
        assert cassette.provenance.claude_code_version == CLAUDE_CODE_VERSION, cell.id
        command = cassette.provenance.command or []
        assert command[:2] == ["claude", "--print"] and cell.proxy_model in command, (cell.id, command)
        assert any((r.body.value() or {}).get("model") == cell.proxy_model for r in cassette.client), cell.id


def test_cassette_tree_is_under_8_mb():
    total = sum(p.stat().st_size for p in catalog.DEFAULT_CASSETTE_DIR.rglob("*") if p.is_file())
    assert total < MAX_TREE_BYTES, f"cassettes/ is {total / 1e6:.2f} MB"


def test_the_bundled_claude_code_releases_are_the_ones_that_recorded_the_cassettes():
    root = catalog.DEFAULT_CASSETTE_DIR
    seen = set()
    for cell in catalog.select(features=[f.id for f in catalog.FEATURES + catalog.FAULT_FEATURES]):
        if cell.not_applicable_reason or cell.feature.cli is None:
            continue
        recorded = load(cell.cassette_path(root), root).provenance.claude_code_version
        seen.add(recorded)
        needs = cell.feature.cli.min_claude_code
        expected = needs[0] if needs else CLAUDE_CODE_VERSION  # a row that needs a newer CLI is recorded with it
        assert recorded == expected, (cell.id, recorded)
    assert seen == set(BUNDLED_VERSIONS)  # `ccmatrix setup --claude-code` installs exactly these
