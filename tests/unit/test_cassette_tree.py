"""The bundled cassette trees as a whole (one per bundled Claude Code release): every
implemented cell tier has its cassette in each, recorded with both legs by that
release's CLI, and all of it stays small enough to review."""

from __future__ import annotations

import pytest

from ccmatrix import catalog
from ccmatrix.cassette import load
from ccmatrix.catalog import layout
from ccmatrix.client.claude_cli import BUNDLED_VERSIONS
from ccmatrix.run.runner import too_old_tiers

# Two legs per cassette (what the CLI sent LiteLLM, what LiteLLM sent the providers),
# one tree per bundled release (three), and the long-context row's ~840,000-character
# prompt (one blob 2.1.126 and 2.1.332 share; 2.1.228's session-title request carries
# it again inside its own wording: a second blob). Measured when 2.1.228's tree came:
# 15.20 MB of files (2.1.126 3.92, 2.1.228 4.78, 2.1.332 3.71, blobs 2.80; `du` counts
# disk blocks, about 1.5 times as much). The GPT-5.6 columns (36 more cassettes a release,
# their streams' echoed tools in blobs) brought it to 17.64 MB (2.1.126 4.56, 2.1.228
# 5.61, 2.1.332 4.41, blobs 3.06). The budget keeps about 5% above that.
MAX_TREE_BYTES = 18_500_000


@pytest.mark.parametrize("release", BUNDLED_VERSIONS)
def test_every_cell_has_a_loadable_cassette_or_is_not_applicable(release):
    root = catalog.DEFAULT_CASSETTE_DIR
    too_old = too_old_tiers(catalog.select(), release)
    for cell in catalog.select():
        path = cell.cassette_path(root, release)
        if cell.not_applicable_reason or cell.id in too_old:
            assert not path.exists(), f"stale cassette for a not-applicable cell: {path}"
            continue
        cassette = load(path, root)
        assert (cassette.cell.feature, cassette.cell.provider, cassette.cell.tier) == (
            cell.feature.id, cell.provider.id, cell.tier.id)
        assert cassette.cell.proxy_model == cell.proxy_model


@pytest.mark.parametrize("release", BUNDLED_VERSIONS)
def test_every_cassette_holds_the_client_leg_its_row_sends(release):
    root = catalog.DEFAULT_CASSETTE_DIR
    for cell in catalog.select():
        if cell.not_applicable_reason:
            continue
        cassette = load(cell.cassette_path(root, release), root)
        assert cassette.client, f"{cell.id}: no client leg"
        if cell.feature.probe is not None:
            assert cassette.provenance.client == "probe", cell.id
            continue
        # recorded by the tree's CLI, run as the live harness runs it
        assert cassette.provenance.client == "cli", cell.id
        assert cassette.provenance.claude_code_version == release, cell.id
        command = cassette.provenance.command or []
        assert command[:2] == ["claude", "--print"] and cell.proxy_model in command, (cell.id, command)
        assert any((r.body.value() or {}).get("model") == cell.proxy_model for r in cassette.client), cell.id


def test_cassette_trees_are_under_16_mb():
    root = catalog.DEFAULT_CASSETTE_DIR
    sizes: dict[str, int] = {}
    for path in root.rglob("*"):
        if path.is_file():
            part = path.relative_to(root).parts[0]
            sizes[part] = sizes.get(part, 0) + path.stat().st_size
    total = sum(sizes.values())
    figure = f"cassettes/ is {total / 1e6:.2f} MB of files: " + ", ".join(
        f"{part} {size / 1e6:.2f} MB" for part, size in sorted(sizes.items()))
    print(figure)  # pytest -s (or -rP) shows it
    assert total < MAX_TREE_BYTES, figure


def test_the_bundled_claude_code_releases_are_the_trees_and_each_recorded_its_own():
    root = catalog.DEFAULT_CASSETTE_DIR
    assert layout.releases(root) == list(BUNDLED_VERSIONS)  # `ccmatrix setup --claude-code` installs exactly these
    cells = [c for c in catalog.select(features=[f.id for f in catalog.FEATURES + catalog.FAULT_FEATURES])
             if not c.not_applicable_reason and c.feature.cli is not None]
    for release in BUNDLED_VERSIONS:
        too_old = too_old_tiers(cells, release)
        for cell in cells:
            path = cell.cassette_path(root, release)
            if cell.id in too_old:  # a row that needs a newer CLI has no cassette in an older one's tree
                assert not path.exists(), path
                continue
            assert load(path, root).provenance.claude_code_version == release, (cell.id, release)
