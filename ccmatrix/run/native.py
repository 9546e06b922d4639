"""Capturing the native reference: what Claude Code sends a provider when it talks to
it itself, with no proxy.

For every CLI row and every provider Claude Code has a native mode for (Bedrock
Invoke, Vertex AI, Foundry: `Provider.native_reference == "capture"`), the release's
CLI runs the row as the live harness runs it, but with the provider's switches
(`CLAUDE_CODE_USE_BEDROCK` and the like) and `--model` the provider's model id,
through mitmdump against the emulator. The recorder keeps its requests as the cell
tier's native reference (catalog.layout: `claude-code-<release>/native/...`);
ccmatrix/verdict/native.py compares LiteLLM's upstream requests with it. No LiteLLM
runs here.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from ccmatrix import cassette as cassettes
from ccmatrix import catalog
from ccmatrix.cassette import RecordedVerdict
from ccmatrix.client.claude_cli import install
from ccmatrix.client.cli_driver import NativeEndpoint, run_cli
from ccmatrix.client.outcome import ClientOutcome
from ccmatrix.proxy.mitmdump import Mitmdump, ensure_mitm_ca
from ccmatrix.recorder.mode import Upstream
from ccmatrix.recorder.write import write_auth, write_cell
from ccmatrix.run.plan import too_old_tiers

__all__ = ["NativeCapture", "capture", "native_cells"]


@dataclass
class NativeCapture:
    cell: catalog.CellTier
    outcome: ClientOutcome
    path: Path  # the reference written


def native_cells(cell_tiers: list[catalog.CellTier], release: str) -> list[catalog.CellTier]:
    """The tiers a native reference is captured for: CLI rows, on providers with a native mode."""
    older = too_old_tiers(cell_tiers, release)
    return [c for c in cell_tiers if c.feature.cli is not None and c.provider.native_reference == "capture"
            and not c.not_applicable_reason and c.id not in older]


def capture(cell_tiers: list[catalog.CellTier], root: Path, release: str, upstream: str = "emulate",
            progress=None) -> list[NativeCapture]:  # type: ignore[no-untyped-def]
    """Capture the native reference of each of `cell_tiers` (see native_cells) into `root`."""
    cli = install(release)
    done: list[NativeCapture] = []
    with tempfile.TemporaryDirectory(prefix="ccmatrix-native-") as work:
        workdir = Path(work)
        mitmdump = Mitmdump(upstream, root, log=workdir / "mitmdump.log")  # type: ignore[arg-type]
        mitmdump.start()
        try:
            for cell in cell_tiers:
                done.append(_capture_one(cell, release, cli, mitmdump, workdir, root, Upstream(upstream)))
                if progress is not None:
                    progress(done[-1])
        finally:
            mitmdump.stop()
    # as a recording run does: a re-capture leaves no blob that nothing refers to any more
    cassettes.prune_blobs(root)
    return done


def _capture_one(cell: catalog.CellTier, release: str, cli: Path, mitmdump: Mitmdump,
                 workdir: Path, root: Path, mode: Upstream) -> NativeCapture:
    assert cell.feature.cli is not None
    mitmdump.begin_cell(cell.id, release, {"client": "cli"}, native=True)
    endpoint = NativeEndpoint(cell.provider.native_environment(workdir), mitmdump.proxy_url, ensure_mitm_ca())
    try:
        outcome = run_cli(cli, cell.feature.cli, cell.provider.id, cell.model_id, "", "", native=endpoint)
    finally:
        end = mitmdump.end_cell()
    verdict = RecordedVerdict(status="fail" if outcome.failure else "pass", error=outcome.failure)
    provenance = {"client": "cli", "claude_code_version": release, "command": outcome.detail.get("argv")}
    path = write_cell(root, cell, release, end, verdict, provenance, native=True, mode=mode)
    write_auth(root, end, {"client": "cli"}, mode=mode)
    return NativeCapture(cell, outcome, path)
