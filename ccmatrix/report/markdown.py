"""The matrix as Markdown for a CI job summary or a PR comment.

GitHub renders the emoji and the ```diff blocks; a reviewer sees which cells are
red and, for each failing tier, exactly which upstream request field changed.
"""

from __future__ import annotations

import json
import re

from ccmatrix.cassette.field_diff import FieldDiff
from ccmatrix.report.matrix_json import GLYPH, LABEL
from ccmatrix.report.table import provider_name
from ccmatrix.verdict.results import CellResult, FeatureRow, RunResult, TierResult, tiers_shown

# GitHub caps a job summary at 1 MiB; one value never needs more than this to be read.
_VALUE_LIMIT = 200
# load-bearing differences shown per failing tier (the rest are counted; all in the JSON)
_DIFFS_SHOWN = 12


def _cell(text: str) -> str:
    """Escape text for a table cell: a pipe would split the cell, a newline the row."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    """Inline code span: errors hold `<`, `*`, `_` and the like, which GitHub would
    otherwise render as markup. The delimiter outruns any backticks inside."""
    text = text.replace("\n", " ")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _value(value: object) -> str:
    # JSON, so "1" and 1 (or "null" and null) stay distinguishable in the diff
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = text.replace("\n", "\\n")
    return text if len(text) <= _VALUE_LIMIT else text[: _VALUE_LIMIT - 3] + "..."


def diff_lines(diffs: list[FieldDiff]) -> list[str]:
    """`- recorded` / `+ observed` lines per field, in unified-diff vocabulary."""
    lines: list[str] = []
    for d in diffs:
        if d.kind in ("missing", "changed"):
            lines.append(f"- {d.path}: {_value(d.recorded)}")
        if d.kind in ("added", "changed"):
            lines.append(f"+ {d.path}: {_value(d.observed)}")
    return lines


def _fence(body: str, lang: str = "") -> str:
    # a fence longer than any backtick run inside, so a value cannot close it
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{body}\n{ticks}"


def _tier_block(t: TierResult) -> list[str]:
    out = [f"- **{t.tier}** `{t.model_alias}`: {_code(t.error or 'failed')}"]
    if t.failed_checks:
        out.append(f"  - failed checks: {', '.join(f'`{c}`' for c in t.failed_checks)}")
    bearing = [d for d in t.diffs if d.load_bearing]
    if bearing:
        out.append("")
        out.extend("  " + line for line in _fence("\n".join(diff_lines(bearing[:_DIFFS_SHOWN])), "diff").splitlines())
        if len(bearing) > _DIFFS_SHOWN:
            out.append(f"  - and {len(bearing) - _DIFFS_SHOWN} more load-bearing difference(s): ccmatrix-run.json")
        out.append("")
    if t.drift:
        out.append(f"  - {len(t.drift)} drift diff(s), not load-bearing")
    return out


def _state(cell: CellResult) -> str:
    return cell.state


def _summary(run: RunResult) -> str:
    counts = {s: 0 for s in LABEL}
    for c in run.cells():
        counts[_state(c)] += 1
    return " · ".join(f"{GLYPH[s]} {n} {LABEL[s]}" for s, n in counts.items() if n)


def _row_line(row: FeatureRow, providers: list[str]) -> str:
    cells = []
    for p in providers:
        c = row.cells.get(p)
        cells.append("" if c is None else GLYPH[_state(c)] + (" ⚠️" if c.regressed else ""))
    return f"| {_cell(row.name)} | " + " | ".join(cells) + " |"


def render_markdown(run: RunResult) -> str:
    lines = [
        "## Claude Code x LiteLLM compatibility matrix",
        "",
        f"LiteLLM `{run.litellm_version}` · Claude Code `{run.claude_code_version}` · "
        f"ccmatrix {run.ccmatrix_version} ({run.mode}) · generated {run.generated_at}",
        "",
        _summary(run),
        "",
        "| Feature | " + " | ".join(_cell(provider_name(p)) for p in run.providers) + " |",
        "|---|" + ":-:|" * len(run.providers),
    ]
    lines += [_row_line(row, run.providers) for row in run.rows]
    if run.fault_rows:
        lines += ["", "Fault rows (ccmatrix's own, emulator only: the provider fails on purpose, then recovers; "
                      "docs/faults.md)", "",
                  "| Fault | " + " | ".join(_cell(provider_name(p)) for p in run.providers) + " |",
                  "|---|" + ":-:|" * len(run.providers)]
        lines += [_row_line(row, run.providers) for row in run.fault_rows]
    lines += ["", "Legend: " + " · ".join(f"{GLYPH[s]} {LABEL[s]}" for s in LABEL) + " · ⚠️ regression"]

    regressed = [t for c in run.cells() for t in c.tiers if t.regressed]
    if regressed:
        lines += ["", f"### ⚠️ Regressions ({len(regressed)}): recorded pass, now fail", ""]
        for t in regressed:
            lines.append(f"#### `{t.feature}` / `{t.provider}` / `{t.tier}`")
            lines.append("")
            lines += _tier_block(t)
            lines.append("")

    failing = [c for c in run.cells() if c.status == "fail"]
    if failing:
        lines += ["", f"### {GLYPH['fail']} Failing cells ({len(failing)})", ""]
        for c in failing:
            lines.append(f"#### `{c.feature}` / `{c.provider}`")
            lines.append("")
            tiers = [t for t in c.tiers if t.status == "fail"]
            if not tiers:
                lines.append(f"- {_code(c.error or 'failed')}")
            for t in tiers:
                if t.regressed:  # its diff is already shown above
                    lines.append(f"- **{t.tier}** `{t.model_alias}`: regression, see above")
                else:
                    lines += _tier_block(t)
            lines.append("")

    broken = run.run_errors
    if broken:
        lines += ["", f"### {GLYPH['error']} Run errors ({len(broken)}): not judged, the run broke (run again)", ""]
        for t in broken:
            lines.append(f"#### `{t.feature}` / `{t.provider}` / `{t.tier}`")
            lines.append("")
            lines.append(_fence(t.error or "failed"))
            lines.append("")

    grouped = run.findings_by_message()
    if grouped:
        lines += ["", f"### Findings ({sum(len(tiers) for _, tiers in grouped)} on the tiers, {len(grouped)} distinct): "
                      "on the wire, beside the verdicts", ""]
        for finding, tiers in grouped:
            lines.append(f"- ({finding.severity}) {_code(finding.describe())}: {len(tiers)} tier(s), "
                         f"{tiers_shown([f'`{t}`' for t in tiers])}")

    changed = run.changed
    if changed:
        lines += ["", f"### {GLYPH['changed']} Changed tiers ({len(changed)}): they work, their cassettes need re-recording", ""]
        for t in changed:
            lines.append(f"- `{t.feature}` / `{t.provider}` / `{t.tier}`: " + "; ".join(_code(c.describe()) for c in t.changes))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).rstrip() + "\n"
