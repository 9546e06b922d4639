"""A run's plan: everything it reads (cassettes, native references, the CLI), loaded and
checked before any process starts, so bad input stops it with one line (exit 2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ccmatrix import cassette as cassettes
from ccmatrix import catalog
from ccmatrix.catalog import layout
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION, install, release_key
from ccmatrix.run.options import Client, ConfigError, RunOptions


@dataclass
class Plan:
    cell_tiers: list[catalog.CellTier]
    cassettes: dict[str, cassettes.Cassette]  # cell tier id -> its cassette (replay; record with the captured client)
    client: Client = "captured"
    cli: Path | None = None  # the `claude` binary, when the CLI client runs
    claude_code: str = CLAUDE_CODE_VERSION  # the release: its cassette tree, and the CLI that --client cli runs
    # cell tier id -> why the CLI client does not run it (a row that needs a newer release)
    too_old: dict[str, str] = field(default_factory=dict)
    # cell tier id -> the requests of its native reference (verdict/native.py), where captured
    native: dict[str, list[cassettes.RecordedRequest]] = field(default_factory=dict)


def plan(cell_tiers: list[catalog.CellTier], options: RunOptions) -> Plan:
    """What the run does; `options.claude_code` picks the release (default CLAUDE_CODE_VERSION):
    whose tree of cassettes is replayed or recorded into, and which CLI --client cli runs."""
    root, client = options.root, options.client
    version = options.claude_code or CLAUDE_CODE_VERSION
    too_old = too_old_tiers(cell_tiers, version)
    needs_tree = not options.mode.records or client == "captured"
    if needs_tree and not layout.release_dir(root, version).is_dir():
        held = ", ".join(layout.releases(root)) or "none"
        raise ConfigError(f"{layout.release_dir(root, version)}: no cassettes recorded with Claude Code {version} "
                          f"(this tree has: {held}); record them: ccmatrix record --client cli --claude-code "
                          f"{version} --cassettes DIR")
    recorded: dict[str, cassettes.Cassette] = {}
    try:
        for cell in cell_tiers:
            if cell.not_applicable_reason or cell.id in too_old:
                continue
            needs_cassette = not options.mode.records or (client == "captured" and cell.feature.cli is not None)
            if needs_cassette:
                path = cell.cassette_path(root, version)
                recorded[cell.id] = cassettes.load(path, root)
                if client == "captured" and cell.feature.cli is not None and not recorded[cell.id].client:
                    raise ConfigError(f"{path}: no client leg recorded; re-record it (ccmatrix record --client cli)")
                if recorded[cell.id].provenance.claude_code_version not in (None, version):
                    # the captured client would send another release's requests as this one's
                    raise ConfigError(f"{path}: recorded with Claude Code "
                                      f"{recorded[cell.id].provenance.claude_code_version}, in the tree of {version}")
    except cassettes.CassetteError as exc:
        raise ConfigError(str(exc)) from None
    cli = None
    if client == "cli" and any(c.feature.cli is not None and not c.not_applicable_reason and c.id not in too_old
                               for c in cell_tiers):
        cli = install(version)
    return Plan(cell_tiers, recorded, client, cli, version, too_old, _native_references(cell_tiers, root, version))


def _native_references(cell_tiers: list[catalog.CellTier], root: Path,
                       version: str) -> dict[str, list[cassettes.RecordedRequest]]:
    """The native reference of each tier that has one in `version`'s tree (its provider's
    capture, or the one its provider borrows: Converse uses Bedrock Invoke's)."""
    found = {}
    try:
        for cell in cell_tiers:
            source = cell.provider.native_reference
            if source in ("client", "none") or cell.feature.cli is None or cell.not_applicable_reason:
                continue
            path = cell.native_path(root, version, None if source == "capture" else catalog.provider(source))
            if path.exists():
                found[cell.id] = [i.request for i in cassettes.load(path, root).interactions]
    except cassettes.CassetteError as exc:
        raise ConfigError(str(exc)) from None
    return found


def too_old_tiers(cell_tiers: list[catalog.CellTier], version: str) -> dict[str, str]:
    """The tiers whose row needs a newer Claude Code than `version`, and why."""
    too_old = {}
    for cell in cell_tiers:
        needs = cell.feature.cli.min_claude_code if cell.feature.cli is not None else None
        if needs is not None and release_key(version) < release_key(needs[0]):
            too_old[cell.id] = f"needs Claude Code {needs[0]} or newer ({needs[1]}); this run is for {version}"
    return too_old
