"""Writing what a cell tier recorded: its cassette, and the run-wide auth cassettes.

The cassette has one owner, the driver (ccmatrix.run): it ends the cell (/cell/end),
judges it, and writes the cassette from the CellEnd with the verdict. A driverless
mitmdump (`--set ccmatrix_cell=...`) writes with these same functions when it exits.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ccmatrix import __version__, catalog
from ccmatrix import cassette as cassettes
from ccmatrix.catalog import layout
from ccmatrix.providers import auth_cassette_name
from ccmatrix.recorder.exchanges import CellEnd, RecordedExchange
from ccmatrix.recorder.mode import Upstream
from ccmatrix.recorder.record import url_host

__all__ = ["write_auth", "write_cell"]

# What a cell's provenance says of that cell alone: an auth cassette is the run's, shared
# by every cell (LiteLLM caches its tokens), so it does not take these from the cell
# that happened to ask.
_CELL_ONLY_PROVENANCE = ("client", "command", "claude_code_version")


def _provenance(given: dict[str, Any], mode: Upstream) -> dict[str, Any]:
    provenance = dict(given)
    provenance.update(
        recorded_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        source=mode.source,
        ccmatrix_version=__version__,
    )
    return provenance


def _recorded(end: CellEnd, auth: bool) -> list[RecordedExchange]:
    return [e for e in end.exchanges if isinstance(e, RecordedExchange) and e.auth is auth]


def write_cell(root: Path, cell: catalog.CellTier, claude_code: str, end: CellEnd,
               verdict: cassettes.RecordedVerdict | None, provenance: dict[str, Any], native: bool = False,
               *, mode: Upstream) -> Path:
    """Write the cell tier's cassette into `root` (Claude Code `claude_code`'s tree) from
    what the cell caused, with its verdict (None: recorded without a driver) and
    `provenance` (what the driver knows: LiteLLM's release, the client, its command);
    `native`: the cell tier's native reference instead. Returns the file written."""
    if not mode.records:
        raise ValueError(f"a {mode} run records nothing to write")
    interactions = [cassettes.Interaction(request=e.request, response=e.response) for e in _recorded(end, auth=False)]
    if native:
        # a native reference keeps Claude Code's requests; the emulator's answers
        # are no evidence of anything, only their status is kept
        path = cell.native_path(root, claude_code)
        interactions = [cassettes.Interaction(request=i.request, response=cassettes.RecordedResponse(
            status=i.response.status)) for i in interactions]
    else:
        path = cell.cassette_path(root, claude_code)
    cassette = cassettes.Cassette(
        cell=cassettes.CellRef(feature=cell.feature.id, provider=cell.provider.id, tier=cell.tier.id,
                               proxy_model=cell.proxy_model),
        provenance=_provenance(provenance, mode),
        verdict=verdict or cassettes.RecordedVerdict(status="not_tested", error="recorded without a driver"),
        client=[ex.request for ex in end.client if ex.request.method == "POST"],
        interactions=interactions,
    )
    cassettes.save(cassette, path, root)
    return path


def _auth_route(interaction: cassettes.Interaction) -> tuple[str, str, str]:
    """What a token endpoint was asked: method, URL, and for AWS's query APIs the action
    (STS takes GetCallerIdentity and AssumeRole at one URL)."""
    request = interaction.request
    form = request.body.form if request.body is not None and request.body.form is not None else {}
    return request.method, request.url, str(form.get("Action", ""))


def write_auth(root: Path, end: CellEnd, provenance: dict[str, Any], *, mode: Upstream) -> list[Path]:
    """Merge the cell's token exchanges into the auth cassettes in `root`. They belong to
    the run, not the cell (LiteLLM caches tokens, so only the first cell of a run would
    see one): one cassette per token endpoint, an interaction per route (the metadata
    server is asked several things), the latest answer on a route replacing the one kept.
    Returns the files written (none when the cell asked no token endpoint)."""
    merged: dict[str, list[cassettes.Interaction]] = {}
    for exchange in _recorded(end, auth=True):
        name = auth_cassette_name(url_host(exchange.request.url))
        if name is None:
            continue  # marked auth by the flow's Host, which its URL names too: not expected
        path = layout.auth_cassette_path(root, name)
        if name not in merged:
            merged[name] = cassettes.load(path, root).interactions if path.exists() else []
        interaction = cassettes.Interaction(request=exchange.request, response=exchange.response)
        merged[name] = [i for i in merged[name] if _auth_route(i) != _auth_route(interaction)] + [interaction]
    run_wide = {k: v for k, v in provenance.items() if k not in _CELL_ONLY_PROVENANCE}
    written = []
    for name, interactions in merged.items():
        path = layout.auth_cassette_path(root, name)
        cassettes.save(cassettes.Cassette(provenance=_provenance(run_wide, mode), interactions=interactions), path, root)
        written.append(path)
    return written
