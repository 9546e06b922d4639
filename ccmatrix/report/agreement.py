"""Agreement with a published live matrix, as a figure (`ccmatrix agreement OURS PUBLISHED`).

Cell by cell, ccmatrix's status against the published one. Left out: cells either
side did not judge (not_tested, not_applicable), and cells whose live error is a
fault of the live environment rather than a LiteLLM behaviour (the patterns below,
each with where it was seen). The live harness itself filters none of these: it
publishes them as red (BerriAI/litellm `tests/e2e/claude_code/cron_vm/`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ccmatrix.report.matrix_json import MatrixV1

# Live-environment faults: (pattern, what it means, where it was seen)
ENVIRONMENT_FAULTS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"api_status=404; text=There's an issue with the selected model"),
     "the live project has no deployment of the model",
     "the published 1.93.0 matrix: every Azure cell (the live Foundry resource had no such deployments)"),
    (re.compile(r"DeploymentNotFound", re.I), "the live project has no deployment of the model",
     "LiteLLM docs refresh pull requests (Azure)"),
    (re.compile(r"credit balance is too low", re.I), "the live account ran out of credits",
     "LiteLLM docs refresh pull requests (Anthropic)"),
    (re.compile(r"claude CLI timed out|\btimed out\b|\btimeout\b", re.I), "the live run timed out",
     "the live harness's own retry rule counts time-outs as rate-limit-shaped"),
    (re.compile(r"\b429\b|rate[\s_-]?limit|too many requests|throttl(?:ed|ing)", re.I), "the live account was rate limited",
     "the live harness's RATE_LIMIT_SHAPED_RE"),
    (re.compile(r"\b529\b|overloaded|service[\s_-]?unavailable|unable to process your request", re.I),
     "the live provider was overloaded", "the live harness's TRANSIENT_UPSTREAM_SHAPED_RE"),
)


@dataclass
class Disagreement:
    cell: str
    ours: str
    published: str
    our_error: str | None
    published_error: str | None


@dataclass
class Agreement:
    ours_version: str
    published_version: str
    ours_claude_code: str = ""
    published_claude_code: str = ""
    agreed: int = 0
    judged: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)  # cell -> why

    @property
    def ratio(self) -> float:
        return self.agreed / self.judged if self.judged else 0.0

    @property
    def unlike(self) -> list[str]:
        """What differs between the two setups: a verdict can depend on either release
        (docs/red-cells.md keeps, per Claude Code release, the cells that do)."""
        out = []
        if _release(self.ours_version) != _release(self.published_version):
            out.append(f"LiteLLM {self.ours_version} here, {self.published_version} published")
        if self.ours_claude_code and self.published_claude_code and self.ours_claude_code != self.published_claude_code:
            out.append(f"Claude Code {self.ours_claude_code} here, {self.published_claude_code} published")
        return out


def _release(version: str) -> str:
    return version.strip().removeprefix("v")


def environment_fault(error: str | None) -> str | None:
    for pattern, meaning, _ in ENVIRONMENT_FAULTS:
        if error and pattern.search(error):
            return meaning
    return None


def compare(ours: MatrixV1, published: MatrixV1) -> Agreement:
    result = Agreement(ours.litellm_version, published.litellm_version, ours.claude_code_version,
                       published.claude_code_version)
    mine = ours.cells()
    for key, theirs in published.cells().items():
        cell = f"{key[0]}/{key[1]}"
        own = mine.get(key)
        if own is None:
            result.left_out[cell] = "not in ccmatrix's matrix"
            continue
        if theirs.status not in ("pass", "fail") or own.status not in ("pass", "fail"):
            result.left_out[cell] = f"not judged (published {theirs.status}, ccmatrix {own.status})"
            continue
        fault = environment_fault(theirs.error) if theirs.status == "fail" else None
        if fault is not None:
            result.left_out[cell] = f"live environment fault: {fault}"
            continue
        result.judged += 1
        if own.status == theirs.status:
            result.agreed += 1
        else:
            result.disagreements.append(Disagreement(cell, own.status, theirs.status, own.error, theirs.error))
    return result


def render(a: Agreement) -> str:
    lines = [f"agreement: {a.agreed}/{a.judged} cells ({a.ratio:.0%}); ccmatrix LiteLLM {a.ours_version} "
             f"vs published {a.published_version}; Claude Code {a.ours_claude_code or '?'} vs "
             f"{a.published_claude_code or '?'}"]
    if a.unlike:
        lines.append(f"warning: not like with like ({'; '.join(a.unlike)}): a cell can differ for that alone "
                     "(docs/red-cells.md)")
    if a.left_out:
        reasons: dict[str, int] = {}
        for why in a.left_out.values():
            reasons[why] = reasons.get(why, 0) + 1
        lines.append(f"left out: {len(a.left_out)} cell(s): " + "; ".join(f"{n} {why}" for why, n in reasons.items()))
    for d in a.disagreements:
        lines.append(f"  {d.cell}: ccmatrix {d.ours}, published {d.published}")
        if d.our_error:
            lines.append(f"    ccmatrix: {d.our_error[:300]}")
        if d.published_error:
            lines.append(f"    published: {d.published_error[:300]}")
    return "\n".join(lines)
