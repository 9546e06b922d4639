"""The matrix as one self-contained HTML page, like the published docs matrix.

Everything is inline (CSS, a few lines of JS) and a Content-Security-Policy of
default-src 'none' guarantees the page fetches nothing: it is attached to CI runs
and opened from disk. It renders from schema v1, so any published JSON - not only
a ccmatrix run - can be turned into the page; the `tiers` extension, when present,
adds each model tier's verdict to the cell's tooltip.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

from ccmatrix import catalog
from ccmatrix.report.known_issues import URL_PATTERN, KnownIssue, issues_by_cell
from ccmatrix.report.matrix_json import GLYPH, LABEL, CellV1, MatrixV1, load_matrix, to_schema_v1
from ccmatrix.report.table import provider_name
from ccmatrix.verdict.results import Finding, RunResult, group_findings, tiers_shown

_CSS = """
:root { color-scheme: light; --pass:#e6f4ea; --changed:#e3f2fd; --fail:#fce8e6; --na:#f1f3f4; --nt:#fef7e0; --ink:#202124; --muted:#5f6368; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--ink); margin: 24px; }
h1 { font-size: 1.5rem; margin: 0 0 .4rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; }
code { font: .85em/1.3 ui-monospace, "DejaVu Sans Mono", monospace; }
.meta { display: flex; flex-wrap: wrap; gap: .3rem 1.6rem; margin: 0 0 1rem; color: var(--muted); }
.meta div { display: flex; gap: .4rem; } .meta dt { font-weight: 600; } .meta dd { margin: 0; color: var(--ink); }
.legend { display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; padding: 0; margin: .2rem 0 .4rem; list-style: none; }
.legend li { display: flex; align-items: center; gap: .35rem; }
.hint { color: var(--muted); margin: 0 0 .8rem; font-size: .9rem; }
table.matrix { border-collapse: separate; border-spacing: 3px; }
.matrix th { text-align: left; font-weight: 600; padding: .35rem .6rem; }
.matrix thead th { text-align: center; vertical-align: bottom; }
.matrix thead th:first-child { text-align: left; }
.matrix tbody th { font-weight: 500; white-space: nowrap; }
.matrix tbody th code { display: block; color: var(--muted); font-size: .72rem; font-weight: 400; }
.cell { position: relative; min-width: 8.5rem; text-align: center; padding: .35rem .5rem; border-radius: 6px; }
.cell .glyph { font-size: 1.15rem; }
.cell .word { display: block; font-size: .72rem; color: var(--muted); }
.s-pass { background: var(--pass); } .s-fail { background: var(--fail); } .s-changed { background: var(--changed); }
.s-not_applicable { background: var(--na); } .s-not_tested { background: var(--nt); } .s-error { background: var(--nt); }
.cell[tabindex] { cursor: help; }
.cell:focus { outline: 3px solid #1a73e8; outline-offset: -1px; }
.cell.known::after { content: "KI"; position: absolute; top: 2px; right: 4px; font-size: .6rem; color: var(--muted); }
.cell.regressed, .swatch.regressed { box-shadow: inset 0 0 0 2px #c5221f; }
.swatch { display: inline-block; width: 1.4rem; height: 1rem; border-radius: 4px; background: var(--fail); }
.tip { display: none; position: absolute; z-index: 10; top: calc(100% + 4px); left: 0; width: 30rem; max-width: 80vw;
  text-align: left; background: #fff; color: var(--ink); border: 1px solid #dadce0; border-radius: 8px;
  box-shadow: 0 4px 16px rgba(0,0,0,.18); padding: .6rem .8rem; font-size: .82rem; white-space: normal; }
.matrix td.cell:nth-last-child(-n+2) .tip { left: auto; right: 0; }
.cell:hover .tip, .cell:focus .tip, .cell:focus-within .tip { display: block; }
.cell.tip-off .tip { display: none; }
.tip h3 { font-size: .85rem; margin: 0 0 .35rem; }
.tip ul { margin: 0; padding-left: 1.1rem; }
.tip li { margin: .2rem 0; overflow-wrap: anywhere; }
.tip .tier-fail { color: #a50e0e; }
.tip ul.diff { list-style: none; padding-left: .4rem; color: var(--ink); font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .75rem; }
.tip .note { color: var(--muted); margin: .4rem 0 0; }
.issue { border: 1px solid #dadce0; border-radius: 8px; padding: .7rem 1rem; margin: .7rem 0; max-width: 62rem; }
.issue h3 { font-size: 1rem; margin: 0 0 .3rem; }
.issue p { margin: .3rem 0; }
.badge { display: inline-block; font-size: .72rem; font-weight: 600; border-radius: 10px; padding: .05rem .5rem; margin-left: .4rem; vertical-align: middle; background: #e8eaed; }
.badge.ready { background: #ceead6; color: #0d652d; }
.issue ul.cells { display: flex; flex-wrap: wrap; gap: .2rem .9rem; list-style: none; padding: 0; margin: .3rem 0; font-size: .85rem; }
.issue ul.cells a { color: inherit; }
.failures li, .findings li { margin: .35rem 0; max-width: 70rem; overflow-wrap: anywhere; }
.failures .why { font: .85em/1.35 ui-monospace, "DejaVu Sans Mono", monospace; }
.failures li.regressed > a { color: #a50e0e; font-weight: 600; }
.findings .tiers { color: var(--muted); font-size: .85rem; }
footer { margin-top: 2rem; color: var(--muted); font-size: .8rem; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
"""

# Escape closes a tooltip (WCAG 1.4.13: dismissable without moving pointer or focus).
_JS = """
document.addEventListener('keydown', function (e) {
  if (e.key !== 'Escape') return;
  document.querySelectorAll('.cell:hover, .cell:focus-within').forEach(function (c) { c.classList.add('tip-off'); });
});
document.querySelectorAll('.cell[tabindex]').forEach(function (c) {
  c.addEventListener('mouseleave', function () { c.classList.remove('tip-off'); });
  c.addEventListener('focusout', function () { c.classList.remove('tip-off'); });
});
"""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _linkify(text: str) -> str:
    # only http(s) URLs become links, so a yaml entry cannot smuggle javascript:
    out, pos = [], 0
    for m in URL_PATTERN.finditer(text):
        out.append(_e(text[pos : m.start()]))
        out.append(f'<a href="{_e(m.group())}">{_e(m.group())}</a>')
        pos = m.end()
    out.append(_e(text[pos:]))
    return "".join(out)


def _tier_name(tier_id: str) -> str:
    try:
        return catalog.tier(tier_id).name
    except catalog.CatalogError:
        return tier_id


def _slug(*parts: str) -> str:
    return "-".join(re.sub(r"[^A-Za-z0-9_]+", "_", p) for p in parts)


def _has_detail(cell: CellV1) -> bool:
    tiers = (cell.tiers or {}).values()
    return cell.state != "pass" or any(t.status != "pass" or t.diff or t.findings for t in tiers)


def _tooltip(tip_id: str, feature: str, provider: str, cell: CellV1, issues: list[KnownIssue]) -> str:
    parts = [f'<div class="tip" role="tooltip" id="{tip_id}">',
             f"<h3>{_e(feature)} · {_e(provider)}: {_e(LABEL[cell.state])}</h3>"]
    if cell.tiers:
        parts.append("<ul>")
        for tid, t in cell.tiers.items():
            model = f" <code>{_e(t.model)}</code>" if t.model else ""
            text = t.error if t.status in ("fail", "error") else t.reason
            cls = ' class="tier-fail"' if t.status in ("fail", "error") else ""
            line = f"<li{cls}>{GLYPH[t.status]} <b>{_e(_tier_name(tid))}</b>{model}: {_e(LABEL[t.status])}"
            if t.regressed:
                line += " <b>(regression: recorded pass)</b>"
            if text:
                line += f" \u2014 {_e(text)}"
            if t.diff:
                line += '<ul class="diff">' + "".join(f"<li>{_e(d)}</li>" for d in t.diff) + "</ul>"
            if t.drift:
                line += f'<div class="note">{t.drift} drift diff(s), not load-bearing</div>'
            if t.changes:
                line += ('<div class="note">re-record needed, answered by the emulator: '
                         + "; ".join(_e(c) for c in t.changes) + "</div>")
            for finding in t.findings:
                line += (f'<div class="note finding">finding ({_e(finding.get("severity", ""))}): '
                         f'{_e(finding.get("kind", ""))}: {_e(finding.get("message", ""))}</div>')
            parts.append(line + "</li>")
        parts.append("</ul>")
    elif cell.error or cell.reason:
        # plain v1: one message for the cell (the first failing tier's, [alias]-prefixed)
        parts.append(f"<p>{_e(cell.error or cell.reason)}</p>")
    for issue in issues:
        parts.append(f'<p class="note">Known issue: {_e(issue.title)} ({_e(issue.status)})</p>')
    parts.append("</div>")
    return "".join(parts)


def _cell_td(feature_id: str, feature_name: str, provider: str,
             cell: CellV1 | None, issues: list[KnownIssue]) -> str:
    if cell is None:
        return '<td class="cell empty"></td>'
    cell_id = "cell-" + _slug(feature_id, provider)
    classes = ["cell", f"s-{cell.state}"] + (["known"] if issues else []) + (["regressed"] if cell.regressed else [])
    attrs = (f'class="{" ".join(classes)}" id="{cell_id}" data-feature="{_e(feature_id)}" '
             f'data-provider="{_e(provider)}" data-status="{cell.state}"')
    body = (f'<span class="glyph" aria-hidden="true">{GLYPH[cell.state]}</span>'
            f'<span class="word">{_e(LABEL[cell.state])}</span>')
    if _has_detail(cell) or issues:
        tip_id = "tip-" + _slug(feature_id, provider)
        # tabindex=0: keyboard users reach the same detail mouse users get on hover
        attrs += f' tabindex="0" aria-describedby="{tip_id}"'
        body += _tooltip(tip_id, feature_name, provider_name(provider), cell, issues)
    return f"<td {attrs}>{body}</td>"


def _header(m: MatrixV1, title: str) -> str:
    meta = [("LiteLLM", m.litellm_version, "litellm-version"),
            ("Claude Code", m.claude_code_version, "claude-code-version"),
            ("Generated", m.generated_at, "generated-at")]
    if m.ccmatrix:
        meta.append(("ccmatrix", f"{m.ccmatrix.version} ({m.ccmatrix.mode})", "ccmatrix-version"))
        cas = m.ccmatrix.cassettes
        if cas.count:
            src = ", ".join(f"{n} {s}" for s, n in cas.sources.items())
            first, last = cas.recorded_at.get("first"), cas.recorded_at.get("last")
            when = "" if not first else f"; recorded {first}" + (f" \u2013 {last}" if last and last != first else "")
            meta.append(("Cassettes", f"{src}{when}", "cassettes"))
    dl = "".join(f'<div><dt>{_e(k)}</dt><dd id="{i}">{_e(v)}</dd></div>' for k, v, i in meta)
    legend = "".join(
        f'<li data-status="{s}"><span class="glyph" aria-hidden="true">{GLYPH[s]}</span>{_e(LABEL[s])}</li>'
        for s in GLYPH
    )
    if any(c.regressed for c in m.cells().values()):
        legend += ('<li data-status="regressed"><span class="swatch regressed" aria-hidden="true"></span>'
                   "regression (recorded pass, now fail)</li>")
    return (f"<header><h1>{_e(title)}</h1><dl class=\"meta\">{dl}</dl>"
            f'<ul class="legend" aria-label="Legend">{legend}</ul>'
            '<p class="hint">Hover over or focus (Tab) a cell to see each model tier\'s result; '
            "KI marks a cell with a known issue. A cell passes only if every tier passes.</p></header>")


def _matrix_table(m: MatrixV1, by_cell: dict[tuple[str, str], list[KnownIssue]]) -> str:
    table = _table(m, m.features, by_cell, "Compatibility by feature and provider", "Feature")
    faults = m.ccmatrix.fault_rows if m.ccmatrix is not None else []
    if faults:
        table += ('<h2 id="fault-rows">Fault rows</h2><p>ccmatrix\'s own rows, emulator only: the provider fails '
                  "on purpose, then recovers; Claude Code must get what the native API gives it "
                  "(docs/faults.md).</p>" + _table(m, faults, by_cell, "Faults by provider", "Fault"))
    return table


def _table(m: MatrixV1, features: list, by_cell: dict[tuple[str, str], list[KnownIssue]], caption: str,
           first: str) -> str:
    head = f'<th scope="col">{first}</th>' + "".join(f'<th scope="col">{_e(provider_name(p))}</th>' for p in m.providers)
    rows = []
    for f in features:
        fid = catalog.FEATURE_ALIASES.get(f.id, f.id)
        tds = "".join(_cell_td(fid, f.name, p, f.providers.get(p), by_cell.get((fid, p), [])) for p in m.providers)
        rows.append(f'<tr id="row-{_slug(fid)}"><th scope="row">{_e(f.name)}<code>{_e(f.id)}</code></th>{tds}</tr>')
    return (f'<table class="matrix"><caption class="sr-only">{_e(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


_REASON_CHARS = 600  # per tier on the page; the whole error is in the JSON and the tooltip


def _failures(m: MatrixV1) -> str:
    """Every failing cell tier's reason, in plain sight (no hovering needed): what a
    maintainer reads first on a red run."""
    names = {catalog.FEATURE_ALIASES.get(f.id, f.id): f.name for f in m.features}
    items = []
    for (f, p), cell in m.cells().items():
        if cell.status != "fail":
            continue
        tiers = [(t, v) for t, v in (cell.tiers or {}).items() if v.status == "fail"] or [("", None)]
        for tier_id, tier in tiers:
            why = (tier.error if tier is not None else None) or cell.error or "failed"
            why = why if len(why) <= _REASON_CHARS else why[: _REASON_CHARS - 3] + "..."
            lost = "".join(f"<li><code>{_e(d)}</code></li>" for d in (tier.diff if tier is not None else [])[:6])
            label = f"{names.get(f, f)} / {provider_name(p)}" + (f" / {_tier_name(tier_id)}" if tier_id else "")
            regressed = " regressed" if tier is not None and tier.regressed else ""
            items.append(f'<li class="failure{regressed}" data-cell="{_e(f)}/{_e(p)}" data-tier="{_e(tier_id)}">'
                         f'<a href="#cell-{_slug(f, p)}">{_e(label)}</a>'
                         f'{" <b>(regression)</b>" if regressed else ""}: <span class="why">{_e(why)}</span>'
                         + (f'<ul class="diff">{lost}</ul>' if lost else "") + "</li>")
    body = f'<ul class="failures">{"".join(items)}</ul>' if items else "<p>Nothing failed.</p>"
    return (f'<section id="what-failed" aria-labelledby="what-failed-h"><h2 id="what-failed-h">What failed and why'
            f"</h2>{body}</section>")


def _finding(entry: dict[str, Any]) -> Finding | None:
    """A finding from any v1 file: one this ccmatrix cannot read is left off the list."""
    try:
        return Finding.model_validate(entry)
    except ValueError:
        return None


def _findings(m: MatrixV1) -> str:
    """Each distinct finding once, with its severity and how many tiers showed it."""
    grouped = group_findings((finding, f"{fid}/{p}/{tier_id}")
                             for (fid, p), cell in m.cells().items()
                             for tier_id, tier in (cell.tiers or {}).items() for f in tier.findings
                             if (finding := _finding(f)) is not None)
    if not grouped:
        return ""
    items = "".join(f'<li class="finding sev-{_e(f.severity)}"><b>[{_e(f.severity)}]</b> {_e(f.kind)}: '
                    f'{_e(f.message)} <span class="tiers">({len(tiers)} tier(s): {_e(tiers_shown(tiers))})</span></li>'
                    for f, tiers in grouped)
    return (f'<section id="findings" aria-labelledby="findings-h"><h2 id="findings-h">Findings</h2>'
            f'<p class="hint">On the wire, beside the verdicts: Claude Code got past them (docs/rows.md says what '
            f'each severity means).</p><ul class="findings">{items}</ul></section>')


def _known_issues(m: MatrixV1, issues: list[KnownIssue] | None,
                  by_cell: dict[tuple[str, str], list[KnownIssue]], review: bool) -> str:
    """The entries that explain something in this matrix (their symptom shows on a cell,
    in their release range), each with the cells where it shows. `review`: every entry,
    with "ready to remove" where all of its cells pass (for ccmatrix's own maintainers)."""
    out = ['<section id="known-issues" aria-labelledby="known-issues-h"><h2 id="known-issues-h">Known issues</h2>']
    shown_at: dict[str, list[tuple[str, str]]] = {}
    for key, found in by_cell.items():
        for issue in found:
            shown_at.setdefault(issue.id, []).append(key)
    listed = [i for i in issues or [] if review or i.id in shown_at]
    if issues is None:
        out.append("<p>No known-issues file was given.</p>")
    elif not listed:
        out.append("<p>None that this matrix shows.</p>")
    names = {catalog.FEATURE_ALIASES.get(f.id, f.id): f.name for f in m.features}
    cells = m.cells()
    for issue in listed:
        ready = review and issue.ready_to_remove(m)
        badges = f'<span class="badge status">{_e(issue.status)}</span>'
        if ready:
            badges += ('<span class="badge ready" title="every cell of this entry passes: '
                       'remove it from known-issues.yaml">\u2713 ready to remove</span>')
        items = []
        for f, p in (issue.cell_keys() if review else shown_at[issue.id]):
            c = cells.get((f, p))
            glyph = GLYPH[c.state] if c else "?"
            label = f"{names.get(f, f)} / {provider_name(p)}"
            target = f'<a href="#cell-{_slug(f, p)}">{_e(label)}</a>' if c else _e(label) + " (not in this matrix)"
            items.append(f'<li data-cell="{_e(f)}/{_e(p)}">{glyph} {target}</li>')
        fixed_in = f" (LiteLLM {_e(issue.fixed_in)})" if issue.fixed_in else ""
        releases = f'<p class="releases"><b>Releases:</b> LiteLLM {_e(issue.releases)}</p>' if issue.releases else ""
        out.append(
            f'<article class="issue" id="issue-{_e(issue.id)}" data-issue-id="{_e(issue.id)}" '
            f'data-ready="{"true" if ready else "false"}">'
            f"<h3>{_e(issue.title)}{badges}</h3>"
            f'<p class="symptom"><b>Symptom:</b> {_e(issue.symptom)}</p>{releases}'
            f'<ul class="cells" aria-label="Cells">{"".join(items)}</ul>'
            f'<p class="fix"><b>Fix:</b> {_linkify(issue.fix)}{fixed_in}</p></article>'
        )
    out.append("</section>")
    return "".join(out)


def render_html(
    source: "RunResult | MatrixV1 | dict[str, Any]",
    known_issues: list[KnownIssue] | None = None,
    *,
    title: str = "Claude Code \u00d7 LiteLLM compatibility matrix",
    review: bool = False,
) -> str:
    # one rendering path: a run is first turned into the same v1 document a
    # published file holds, so the page cannot show what the JSON does not say
    matrix = load_matrix(to_schema_v1(source)) if isinstance(source, RunResult) else load_matrix(source)
    by_cell = issues_by_cell(known_issues or [], matrix)
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)} \u2014 LiteLLM {_e(matrix.litellm_version)}</title>"
        f"<style>{_CSS}</style></head><body>"
        f"{_header(matrix, title)}<main>{_matrix_table(matrix, by_cell)}{_failures(matrix)}{_findings(matrix)}"
        f"{_known_issues(matrix, known_issues, by_cell, review)}</main>"
        f"<footer>schema v{_e(matrix.schema_version)}</footer>"
        f"<script>{_JS}</script></body></html>\n"
    )
