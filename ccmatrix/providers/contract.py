"""Provider contracts: what each provider accepts, as rules that are data.

A `Rule` names one thing a real provider rejects (or, at lower confidence, warns
about), the public evidence for it, and the status, error type and text the
provider answers with. Each provider module lists its rules (`Provider.contract`);
the emulator answers a request that breaks one with the provider's error, and
replay checks every upstream request against them, so a request that matches its
recording but breaks a rule still turns the tier red, naming the rule.

`docs/contracts.md` lists every rule with its source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal, Mapping
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class ProviderRequest:
    """An upstream request as a provider sees it."""

    method: str
    host: str
    path: str  # the route, percent-decoded, without the query
    headers: Mapping[str, str]  # lower-case names
    body: Any  # the parsed JSON body (None when it is not JSON)

    @classmethod
    def of(cls, method: str, url_or_host: str, path: str | None, headers: Mapping[str, str], body: Any) -> "ProviderRequest":
        if path is None:  # a full URL
            parts = urlsplit(url_or_host)
            host, path = parts.hostname or "", parts.path
        else:
            host = url_or_host.split(":")[0]
            path = urlsplit(path).path
        return cls(method.upper(), host.lower(), unquote(path), {k.lower(): v for k, v in headers.items()}, body)

    @property
    def header_betas(self) -> list[str]:
        return [b.strip() for b in self.headers.get("anthropic-beta", "").split(",") if b.strip()]

    def body_betas(self, *path: str) -> list[str]:
        value: Any = self.body
        for key in path or ("anthropic_beta",):
            value = value.get(key) if isinstance(value, dict) else None
        return [b for b in value if isinstance(b, str)] if isinstance(value, list) else []

    @property
    def model(self) -> str:
        """The model the request is for: from the URL (Bedrock, Vertex) or the body."""
        match = re.search(r"/model/([^/]+)/|/models/([^/:]+):", self.path)
        if match:
            return match.group(1) or match.group(2)
        return str(self.body.get("model", "")) if isinstance(self.body, dict) else ""


Confidence = Literal["documented", "reported"]
Action = Literal["reject", "warn"]


@dataclass(frozen=True)
class Rule:
    id: str  # e.g. "bedrock_invoke.metadata-user-id-only"
    summary: str
    evidence: tuple[str, ...]  # public links: provider docs, issues where it was seen
    check: Callable[[ProviderRequest], str | None]  # the provider's error text, or None
    applies: Callable[[ProviderRequest], bool] = lambda request: True
    status: int = 400
    error_type: str = "invalid_request_error"
    # documented: provider docs or several independent reports; reported: one source
    confidence: Confidence = "documented"
    # reject: the emulator answers with the provider's error; warn: the request goes
    # through and the tier carries a finding (a rule whose evidence is thin must not
    # turn a cell red on its own)
    action: Action = "reject"
    # Bedrock Converse wraps the model's own validation errors:
    # "The model returned the following errors: <text>"
    model_error: bool = False

    def violation(self, request: ProviderRequest) -> "Violation | None":
        if not self.applies(request):
            return None
        message = self.check(request)
        return Violation(self, message) if message else None


@dataclass(frozen=True)
class Violation:
    rule: Rule
    message: str

    def describe(self) -> str:
        return f"contract {self.rule.id}: {self.message} ({self.rule.evidence[0]})" if self.rule.evidence else \
            f"contract {self.rule.id}: {self.message}"


@dataclass(frozen=True)
class Verdict:
    """What a provider's contract makes of one request."""

    rejected: Violation | None = None  # the first rejecting rule that applies
    warnings: list[Violation] = field(default_factory=list)


def judge(rules: Iterable[Rule], request: ProviderRequest) -> Verdict:
    warnings: list[Violation] = []
    for rule in rules:
        violation = rule.violation(request)
        if violation is None:
            continue
        if rule.action == "reject":
            return Verdict(violation, warnings)
        warnings.append(violation)
    return Verdict(None, warnings)


# ---------------------------------------------------------------- building blocks


def on_path(pattern: str) -> Callable[[ProviderRequest], bool]:
    regex = re.compile(pattern)
    return lambda request: request.method == "POST" and bool(regex.search(request.path))


def model_matches(pattern: str) -> Callable[[ProviderRequest], bool]:
    regex = re.compile(pattern)
    return lambda request: bool(regex.search(request.model))


def both(*predicates: Callable[[ProviderRequest], bool]) -> Callable[[ProviderRequest], bool]:
    return lambda request: all(p(request) for p in predicates)


@dataclass(frozen=True)
class Shape:
    """A JSON object shape: its known keys, each with its own shape (None: not looked into).

    `closed`: other keys are rejected ("<path>: Extra inputs are not permitted").
    `items`: the shape of each element when the value is a list.
    `union`: for a list of tagged objects, the shape per `type` value.
    """

    keys: Mapping[str, "Shape | None"] = field(default_factory=dict)
    closed: bool = True
    items: "Shape | None" = None
    union: Mapping[str, "Shape | None"] | None = None
    tag: str = "type"


def extra_inputs(value: Any, shape: Shape | None, where: str = "") -> str | None:
    """The first key `shape` does not allow, phrased as the Anthropic validator phrases it."""
    if shape is None:
        return None
    if isinstance(value, list):
        element = shape.items
        for index, item in enumerate(value):
            problem = extra_inputs(item, element, f"{where}.{index}" if where else str(index))
            if problem:
                return problem
        return None
    if not isinstance(value, dict):
        return None
    if shape.union is not None:
        kind = value.get(shape.tag)
        if isinstance(kind, str) and kind in shape.union:
            return extra_inputs(value, shape.union[kind], where)
        return None  # unknown tags are a separate rule (tags_known)
    for key, item in value.items():
        path = f"{where}.{key}" if where else key
        if key not in shape.keys:
            if shape.closed:
                return f"{path}: Extra inputs are not permitted"
            continue
        problem = extra_inputs(item, shape.keys[key], path)
        if problem:
            return problem
    return None
