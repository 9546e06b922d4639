"""A pull request's verdict (ccmatrix.verdict.gate) for its readers: the terminal, a
GitHub job summary (summary.md, kept short: what regressed, a few lines each, then
counts), an HTML page whose failures are visible without hovering, and JSON with the
whole detail. Each run's own reports are written beside them (base/, head/).
"""

from __future__ import annotations

import html
from pathlib import Path

from ccmatrix import catalog
from ccmatrix.fsutil import write_atomic
from ccmatrix.report.markdown import _code, _fence, diff_lines
from ccmatrix.report.matrix_json import GLYPH
from ccmatrix.verdict.gate import GateVerdict, TierComparison
from ccmatrix.verdict.results import RunResult

GATE_FILENAME = "ccmatrix-gate.json"
_LOST_SHOWN = 3  # load-bearing differences shown per failing cell; the rest are counted
_ERROR_CHARS = 160


def reason(t: TierComparison) -> str:
    """Why the head fails a tier, in a line: the load-bearing fields it lost, else the
    start of its error (the full error and diff are in the JSON and head/summary.md)."""
    if t.lost:
        shown = "; ".join(d.describe() for d in t.lost[:_LOST_SHOWN])
        return shown + (f"; and {len(t.lost) - _LOST_SHOWN} more" if len(t.lost) > _LOST_SHOWN else "")
    if t.head_lost:  # lost on the base too: the fields, by path (values differ per tier)
        shown = ", ".join(t.head_lost[:_LOST_SHOWN])
        more = f" and {len(t.head_lost) - _LOST_SHOWN} more" if len(t.head_lost) > _LOST_SHOWN else ""
        return f"loses {shown}{more}"
    error = " ".join((t.head_error or "failed").split())
    return error if len(error) <= _ERROR_CHARS else error[: _ERROR_CHARS - 3] + "..."


def by_cell(tiers: list[TierComparison]) -> list[tuple[str, str, list[str], str]]:
    """(feature, provider, tier ids, reason): the tiers of a cell that fail alike, once."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for t in tiers:
        grouped.setdefault((t.feature, t.provider, reason(t)), []).append(t.tier)
    return [(f, p, tiers, why) for (f, p, why), tiers in grouped.items()]


def where_to_look(provider_id: str) -> str:
    modules = catalog.provider(provider_id).litellm_modules
    return ", ".join(modules)


def _counts(v: GateVerdict) -> str:
    parts = [f"{len(v.of(o))} {o}" for o in ("regressed", "pre-existing", "fixed", "not judged") if v.of(o)]
    unchanged = len(v.of("unchanged"))
    return ", ".join(parts + [f"{unchanged} unchanged"])


def render_text(v: GateVerdict) -> list[str]:
    """The terminal's lines: the verdict, the regressions with their reasons, then counts."""
    lines = [f"base: {v.base_label}" + (" (result reused: tree unchanged)" if v.base_reused else ""),
             f"head: {v.head_label}",
             f"gate: {_counts(v)} ({len(v.tiers)} cell tiers)"]
    if v.regressions:
        lines.append("REGRESSED (passes on the base, fails on the head; or loses a load-bearing field):")
        for feature, provider, tiers, why in by_cell(v.regressions):
            lines.append(f"  {feature} x {provider} [{', '.join(tiers)}]")
            lines.append(f"    {why}")
            if where_to_look(provider):
                lines.append(f"    LiteLLM: {where_to_look(provider)}")
    pre = v.of("pre-existing")
    if pre:
        cells = sorted({f"{t.feature} x {t.provider}" for t in pre})
        lines.append(f"pre-existing (fail on the base too, not blocking): {', '.join(cells)}")
    fixed = v.of("fixed")
    if fixed:
        lines.append(f"fixed by the head: {', '.join(sorted({f'{t.feature} x {t.provider}' for t in fixed}))}")
    unjudged = v.of("not judged")
    if unjudged:
        lines.append(f"not judged (a process died or hung): {', '.join(t.id for t in unjudged[:5])}"
                     + (f" and {len(unjudged) - 5} more" if len(unjudged) > 5 else ""))
    for note in v.not_covered:
        lines.append(f"not covered: {note}")
    return lines


def _matrix(v: GateVerdict) -> tuple[list[str], list[list[str]]]:
    """The published rows, base -> head per cell (one glyph when they agree): the header
    and the rows, for the Markdown and the HTML alike."""
    providers = v.head.providers
    base_cells = {(c.feature, c.provider): c for c in v.base.cells()}
    header = ["Feature", *(catalog.provider(p).label for p in providers)]
    rows = []
    for row in v.head.rows:
        cells = [row.name]
        for p in providers:
            before = base_cells.get((row.id, p))
            a, b = GLYPH.get(row.cells[p].state, "?"), GLYPH.get(before.state, "?") if before else "?"
            cells.append(a if a == b else f"{b} → {a}")
        rows.append(cells)
    return header, rows


def _matrix_lines(v: GateVerdict) -> list[str]:
    header, rows = _matrix(v)
    return ["| " + " | ".join(header) + " |", "|---" * len(header) + "|",
            *("| " + " | ".join(cells) + " |" for cells in rows)]


def render_markdown(v: GateVerdict) -> str:
    """summary.md for a GitHub job summary: short on a red pull request (what regressed,
    with its lost fields as a diff), the base -> head matrix, then the pre-existing."""
    verdict = "❌ regressed" if v.regressions else "✅ no regression"
    out = [f"## ccmatrix gate: {verdict}", "",
           f"- base: {_code(v.base_label)}" + (" (result reused: tree unchanged)" if v.base_reused else ""),
           f"- head: {_code(v.head_label)}", f"- {_counts(v)} ({len(v.tiers)} cell tiers)", ""]
    if v.regressions:
        out += ["### What the head breaks", ""]
        for feature, provider, tiers, why in by_cell(v.regressions):
            out.append(f"**{feature} x {provider}** ({', '.join(tiers)})")
            lost = next((t.lost for t in v.regressions if t.feature == feature and t.provider == provider
                         and t.lost), [])
            if lost:
                out += [_fence("\n".join(diff_lines(lost[:_LOST_SHOWN])), "diff")]
                if len(lost) > _LOST_SHOWN:
                    out.append(f"and {len(lost) - _LOST_SHOWN} more field(s): see {GATE_FILENAME}")
            else:
                out.append(f"- {_code(why)}")
            if where_to_look(provider):
                out.append(f"- LiteLLM: {', '.join(_code(m) for m in catalog.provider(provider).litellm_modules)}")
            out.append("")
    if v.not_covered:
        out += ["### Not covered", ""] + [f"- {note}" for note in v.not_covered] + [""]
    out += ["### Base → head", ""] + _matrix_lines(v) + [""]
    pre = v.of("pre-existing")
    if pre:
        out += ["### Pre-existing (red on the base too; not blocking)", ""]
        out += [f"- {feature} x {provider} ({', '.join(tiers)}): {_code(why)}" for feature, provider, tiers, why
                in by_cell(pre)]
        out.append("")
    fixed = v.of("fixed")
    if fixed:
        out += ["### Fixed by the head", ""] + [f"- {f} x {p} ({', '.join(t)})" for f, p, t, _ in by_cell(fixed)]
        out.append("")
    out.append("Each run's own matrix, findings and full diffs: `base/` and `head/` beside this file.")
    return "\n".join(out) + "\n"


def render_html(v: GateVerdict) -> str:
    """One page: the verdict, "what failed and why" in plain sight, the base -> head table."""
    e = html.escape
    verdict = "regressed" if v.regressions else "no regression"
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>ccmatrix gate: " + e(verdict) + "</title>",
             "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:center}"
             "td:first-child{text-align:left}.bad{color:#b00020}.why{font-family:monospace;white-space:pre-wrap}"
             "</style></head><body>",
             f"<h1>ccmatrix gate: <span class='{'bad' if v.regressions else ''}'>{e(verdict)}</span></h1>",
             f"<p>base: <code>{e(v.base_label)}</code>{' (result reused)' if v.base_reused else ''}<br>"
             f"head: <code>{e(v.head_label)}</code><br>{e(_counts(v))}</p>",
             "<section id='what-failed'><h2>What failed and why</h2>"]
    failing = v.regressions + v.of("pre-existing")
    if not failing:
        parts.append("<p>Nothing fails on the head.</p>")
    else:
        parts.append("<ul>")
        for t in failing:
            kind = "regressed" if t.outcome == "regressed" else "pre-existing"
            parts.append(f"<li class='{'bad' if kind == 'regressed' else ''}'><b>{e(t.id)}</b> ({kind}): "
                         f"<div class='why'>{e(reason(t))}</div></li>")
        parts.append("</ul>")
    parts.append("</section>")
    for note in v.not_covered:
        parts.append(f"<p>Not covered: {e(note)}</p>")
    header, rows = _matrix(v)
    parts.append("<h2>Base → head</h2><table><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>")
    parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>" for cells in rows]
    parts.append("</table><p>Each run's own page: <a href='base/compatibility-matrix.html'>base</a>, "
                 "<a href='head/compatibility-matrix.html'>head</a>.</p></body></html>")
    return "\n".join(parts) + "\n"


def write_gate_reports(v: GateVerdict, out: Path, known_issues=None) -> list[Path]:  # type: ignore[no-untyped-def]
    from ccmatrix.report import write_reports

    def run_reports(run: RunResult, where: str) -> list[Path]:
        return write_reports(run, out / where, known_issues)

    written = [*run_reports(v.base, "base"), *run_reports(v.head, "head")]
    detail = v.model_dump_json(indent=1, exclude={"base", "head"})
    return written + [write_atomic(out / GATE_FILENAME, detail + "\n"),
                      write_atomic(out / "summary.md", render_markdown(v)),
                      write_atomic(out / "gate.html", render_html(v))]
