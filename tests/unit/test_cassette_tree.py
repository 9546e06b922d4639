"""The bundled cassette tree as a whole: every implemented cell has its cassette,
every scenario its captures, and the tree stays small enough to review."""

from __future__ import annotations

from ccmatrix import catalog
from ccmatrix.cassette import load
from ccmatrix.catalog.layout import client_capture_path
from ccmatrix.client.capture_format import load_capture
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION

MAX_TREE_BYTES = 5 * 1024 * 1024


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
        assert cassette.provenance.claude_code_version == CLAUDE_CODE_VERSION


def test_every_scenario_has_its_client_captures():
    for feature in catalog.FEATURES:
        for tier in catalog.TIERS:
            if feature.not_applicable_reason("*", tier.id) and not client_capture_path(catalog.DEFAULT_CASSETTE_DIR, feature.scenario, tier.id).exists():
                continue
            capture = load_capture(feature.scenario, tier.id)
            assert capture.provenance["claude_code_version"] == CLAUDE_CODE_VERSION


def test_cassette_tree_is_under_5_mb():
    total = sum(p.stat().st_size for p in catalog.DEFAULT_CASSETTE_DIR.rglob("*") if p.is_file())
    assert total < MAX_TREE_BYTES, f"cassettes/ is {total / 1e6:.2f} MB"
