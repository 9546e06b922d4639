"""The HTML matrix in a real browser: Debian's headless Chromium, driven over the
DevTools protocol on a pipe (--remote-debugging-pipe), so no websocket client,
chromedriver or Selenium is needed.

Checks what only a browser can: the tooltip of a red cell really appears on
keyboard focus and on hover (CSS :focus-within / :hover), Escape dismisses it,
and the page makes no request beyond its own file.

Set CCMATRIX_UPDATE_SCREENSHOT=1 to refresh docs/matrix-screenshot.png.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from ccmatrix import catalog
from ccmatrix.bundled import CHECKOUT_DIR
from ccmatrix.cassette import Provenance
from ccmatrix.cassette.field_diff import FieldDiff
from ccmatrix.report import load_known_issues, render_html
from ccmatrix.report.matrix_json import GLYPH
from ccmatrix.verdict.results import CellResult, FeatureRow, RunResult, TierResult

REPO = CHECKOUT_DIR
CHROMIUM = Path("/usr/bin/chromium")
REFERENCE = CHECKOUT_DIR.parent / "shared" / "reference" / "litellm-docs-compatibility-matrix.json"
TIMEOUT = 20.0

if not CHROMIUM.exists():
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        # in CI a missing browser is a broken setup, not a reason to go green
        pytest.fail(f"{CHROMIUM} is missing (CI is set): apt-get install -y chromium chromium-driver",
                    pytrace=False)
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium); CI is not set",
                allow_module_level=True)


# --- a small DevTools-protocol client over --remote-debugging-pipe ------------------


class Chromium:
    """Chromium reads commands from fd 3 and writes replies/events to fd 4, each a
    JSON message terminated by NUL."""

    def __init__(self, user_data_dir: Path):
        to_r, self._to_w = os.pipe()
        self._from_r, from_w = os.pipe()

        def wire_fds() -> None:  # runs in the child, before exec
            os.dup2(to_r, 3)
            os.dup2(from_w, 4)

        self.proc = subprocess.Popen(
            [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", "--hide-scrollbars", "--remote-debugging-pipe",
             f"--user-data-dir={user_data_dir}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=wire_fds, close_fds=False,  # os.pipe() fds are non-inheritable: only 3 and 4 pass
        )
        os.close(to_r)
        os.close(from_w)
        self._buf = b""
        self._next_id = 0
        self.events: list[dict] = []
        self.session: str | None = None

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._from_r], [], [], remaining)[0]:
                raise TimeoutError("no DevTools message from Chromium")
            chunk = os.read(self._from_r, 65536)
            if not chunk:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() is not None else ""
                raise RuntimeError(f"Chromium closed the DevTools pipe: {err[-2000:]}")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, *, session: bool = True) -> dict:
        self._next_id += 1
        msg: dict = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self._to_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str) -> dict:
        deadline = time.monotonic() + TIMEOUT
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("method") == method:
                    return self.events.pop(i)
            self.events.append(self._read_message(deadline))

    def attach_page(self) -> None:
        targets = self.send("Target.getTargets", session=False)["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.send("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True},
                                 session=False)["sessionId"]
        self.send("Page.enable")
        self.send("Network.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False})

    def open(self, url: str) -> None:
        self.events.clear()
        self.send("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")

    def js(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def key(self, key: str, code: str, keycode: int) -> None:
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent",
                      {"type": kind, "key": key, "code": code, "windowsVirtualKeyCode": keycode})

    def mouse_to(self, x: float, y: float) -> None:
        self.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})

    def screenshot(self) -> bytes:
        size = self.send("Page.getLayoutMetrics")["cssContentSize"]
        shot = self.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        })
        return base64.b64decode(shot["data"])

    def close(self) -> None:
        try:
            self.send("Browser.close", session=False)
            self.proc.wait(timeout=5)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        finally:
            os.close(self._to_w)
            os.close(self._from_r)
            if self.proc.stderr:
                self.proc.stderr.close()


# --- the page under test ------------------------------------------------------------

CONVERSE_ERROR = "claude CLI failed: exit=1; text=API Error: Content block is not a text block"
AZURE_ERROR = ("tool_search probe failed: status 404: DeploymentNotFound: The API deployment "
               "claude-{} does not exist")
TTL_MISSING = FieldDiff(path="body.system[1].cache_control.ttl", kind="missing", recorded="1h", load_bearing=True)


def _tier(f: str, p: str, t: str, status: str = "pass", **kw) -> TierResult:
    prov = Provenance(recorded_at="2026-07-20T10:00:00Z", source="emulator")
    return TierResult(feature=f, provider=p, tier=t, status=status, provenance=prov,
                      model_alias=catalog.proxy_model_name(catalog.provider(p), catalog.tier(t)), **kw)


def _tiers_for(f: str, p: str) -> list[TierResult]:
    """Like the published snapshot (Converse and Azure red), plus a regression and
    an n/a cell, with per-tier detail."""
    ids = [t.id for t in catalog.TIERS]
    if p == "bedrock_converse" and f not in ("count_tokens", "tool_search", "long_context_1m"):
        return [_tier(f, p, t, "fail", error=CONVERSE_ERROR) if t != "opus" else _tier(f, p, t) for t in ids]
    if p == "azure" and f != "count_tokens":
        model = {t.id: t.alias.removeprefix("claude-") for t in catalog.TIERS}
        return [_tier(f, p, t, "fail", error=AZURE_ERROR.format(model[t])) for t in ids]
    if (f, p) == ("tool_search", "bedrock_invoke"):
        return [_tier(f, p, "haiku", "fail", error="status 400: tools.0: Input tag 'tool_search_tool_regex_20251119'"),
                _tier(f, p, "sonnet"), _tier(f, p, "opus")]
    if (f, p) == ("prompt_caching_1h", "anthropic"):
        return [_tier(f, p, "haiku"), _tier(f, p, "sonnet"),
                _tier(f, p, "opus", "fail", error="cache_control ttl not forwarded", diffs=[TTL_MISSING],
                      recorded_status="pass")]
    if (f, p) == ("web_search", "vertex_ai"):
        return [_tier(f, p, t, "not_applicable", reason="server tools are not offered on Vertex AI") for t in ids]
    return [_tier(f, p, t) for t in ids]


def _run() -> RunResult:
    rows = [
        FeatureRow(id=f.id, name=f.name, cells={
            p.id: CellResult.aggregate(f.id, p.id, _tiers_for(f.id, p.id)) for p in catalog.PROVIDERS
        })
        for f in catalog.FEATURES
    ]
    return RunResult(generated_at="2026-07-28T06:00:00Z", litellm_version="1.108.7", claude_code_version="2.1.126",
                     ccmatrix_version="0.1.0", providers=[p.id for p in catalog.PROVIDERS], rows=rows)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")
    b = Chromium(profile)
    try:
        b.attach_page()
        yield b
    finally:
        b.close()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def page(browser, tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    path = out / "matrix.html"
    path.write_text(render_html(_run(), load_known_issues(REPO / "known-issues.yaml")), encoding="utf-8")
    browser.open(path.as_uri())
    requests = [e["params"]["request"]["url"] for e in browser.events if e.get("method") == "Network.requestWillBeSent"]
    return browser, path, requests


def _visible_tip(b: Chromium, cell_id: str) -> str:
    """The tooltip's rendered text, or "" while it is hidden (innerText of a
    display:none element is empty - what a user sees, not what the DOM holds)."""
    return b.js(f"(() => {{ const t = document.querySelector('#{cell_id} [role=tooltip]');"
                f" return getComputedStyle(t).display === 'none' ? '' : t.innerText; }})()")


def test_matrix_cells_and_glyphs(page):
    b, _, requests = page
    assert requests == [page[1].as_uri()]  # nothing fetched besides the page itself
    cells = b.js("[...document.querySelectorAll('td.cell')].map(c => [c.dataset.feature, c.dataset.provider,"
                 " c.dataset.status, c.querySelector('.glyph').textContent])")
    assert len(cells) == 75
    assert all(glyph == GLYPH[status] for _, _, status, glyph in cells)
    statuses = {(f, p): s for f, p, s, _ in cells}
    assert statuses[("vision", "bedrock_converse")] == "fail"
    assert statuses[("web_search", "vertex_ai")] == "not_applicable"
    assert statuses[("count_tokens", "azure")] == "pass"
    assert b.js("[...document.querySelectorAll('thead th')].map(t => t.innerText)") == [
        "Feature", "Anthropic", "Bedrock Invoke", "Bedrock Converse", "Vertex AI", "Azure AI Foundry"]
    assert b.js("[...document.querySelectorAll('.legend li')].map(l => l.textContent)") == [
        "✅pass", "🔄changed", "❌fail", "➖n/a", "⬜not tested", "🚧run error", "regression (recorded pass, now fail)"]
    header = b.js("document.querySelector('header').innerText")
    assert "1.108.7" in header and "2.1.126" in header and "2026-07-28T06:00:00Z" in header
    # every red cell is reachable from the keyboard
    assert b.js("[...document.querySelectorAll('td.s-fail')].every(c => c.tabIndex === 0)")


def test_keyboard_focus_reveals_each_tiers_error(page):
    b = page[0]
    first = "cell-basic_messaging_non_streaming-bedrock_converse"
    assert _visible_tip(b, first) == ""
    b.js("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    b.key("Tab", "Tab", 9)  # the first focusable element is the first cell with detail
    assert b.js("document.activeElement.id") == first
    text = _visible_tip(b, first)
    assert "Haiku 4.5" in text and "Sonnet 4.6" in text and "Opus 4.7" in text
    assert text.count(CONVERSE_ERROR) == 2  # haiku and sonnet failed; opus passed

    b.key("Escape", "Escape", 27)
    assert _visible_tip(b, first) == ""

    regressed = "cell-prompt_caching_1h-anthropic"
    b.js(f"document.getElementById('{regressed}').focus()")
    text = _visible_tip(b, regressed)
    assert "cache_control ttl not forwarded" in text and "regression" in text
    assert "body.system[1].cache_control.ttl missing" in text
    b.js("document.activeElement.blur()")


def test_hover_reveals_the_tooltip(page):
    b = page[0]
    cell = "cell-thinking-azure"
    rect = b.js(f"(() => {{ const c = document.getElementById('{cell}'); c.scrollIntoView({{block: 'center'}});"
                f" const r = c.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()")
    b.mouse_to(5, 5)
    assert _visible_tip(b, cell) == ""
    b.mouse_to(*rect)
    text = _visible_tip(b, cell)
    for model in ("haiku-4-5", "sonnet-4-6", "opus-4-7"):
        assert f"claude-{model} does not exist" in text
    assert "Known issue: Azure AI Foundry: no claude-* deployments in the live project" in text
    b.mouse_to(5, 5)
    assert _visible_tip(b, cell) == ""


def test_known_issues_section(page):
    """Only the entries whose symptom shows here, in their release range: on 1.108.7 the
    Converse and tool-search entries (fixed in 1.94.0 and 1.98.0) are not what makes its
    cells red, the Foundry deployment fault is; nothing says "ready to remove"."""
    b = page[0]
    issues = b.js("[...document.querySelectorAll('#known-issues article')].map(a => [a.dataset.issueId,"
                  " a.dataset.ready, !!a.querySelector('.badge.ready'), a.innerText])")
    assert [i[0] for i in issues] == ["azure-deployment-not-found"]
    assert issues[0][1:3] == ["false", False] and "Tool search (MCP discovery) / Azure AI Foundry" in issues[0][3]
    assert b.js("document.querySelectorAll('td.cell.known').length") == 14
    assert b.js("document.getElementById('cell-vision-bedrock_converse').classList.contains('known')") is False


def test_screenshot(page, tmp_path):
    b, path, _ = page
    b.mouse_to(1, 1)
    # open one tooltip so the picture shows what a red cell explains
    b.js("window.scrollTo(0, 0); document.getElementById('cell-thinking-bedrock_converse').focus()")
    png = b.screenshot()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000
    (path.parent / "matrix-screenshot.png").write_bytes(png)
    if os.environ.get("CCMATRIX_UPDATE_SCREENSHOT") == "1":
        (REPO / "docs" / "matrix-screenshot.png").write_bytes(png)
    b.js("document.activeElement.blur()")


def test_plain_v1_reference_renders_in_browser(browser, tmp_path):
    """Any published JSON makes the page: no tiers extension, one error per cell."""
    path = tmp_path / "reference.html"
    path.write_text(render_html(json.loads(REFERENCE.read_text()), load_known_issues(REPO / "known-issues.yaml")),
                    encoding="utf-8")
    browser.open(path.as_uri())
    assert browser.js("document.querySelectorAll('td.cell.s-fail').length") == 27
    cell = "cell-tool_search-azure"
    browser.js(f"document.getElementById('{cell}').focus()")
    assert "DeploymentNotFound" in _visible_tip(browser, cell)
    assert browser.js("[...document.querySelectorAll('#known-issues article')].map(a => a.dataset.issueId)") == [
        "bedrock-converse-empty-reasoning-delta", "bedrock-invoke-tool-search-beta", "azure-deployment-not-found"]
    # for ccmatrix's maintainers: every entry, and which can go
    path.write_text(render_html(json.loads(REFERENCE.read_text()), load_known_issues(REPO / "known-issues.yaml"),
                                review=True), encoding="utf-8")
    browser.open(path.as_uri())
    assert browser.js("document.querySelector('#issue-effort-dropped-invoke-vertex').dataset.ready") == "true"
    assert "ready to remove" in browser.js("document.querySelector('#issue-effort-dropped-invoke-vertex').innerText")
    assert browser.js("document.querySelector('#issue-bedrock-invoke-tool-search-beta a[href^=\"https://\"]').href") \
        == "https://github.com/BerriAI/litellm/pull/36502"


def test_what_failed_and_why_is_visible_without_hovering(page):
    """A red run's reasons are on the page, not only in tooltips: every failing tier, its
    error, its lost fields, the regression marked."""
    b, path, _ = page
    b.open(path.as_uri())  # the test before this one opened another page in the same browser
    section = b.js("(() => { const s = document.querySelector('#what-failed');"
                   " const r = s.getBoundingClientRect(); return [getComputedStyle(s).display, r.height > 0,"
                   " s.innerText]; })()")
    display, has_height, text = section
    assert display != "none" and has_height
    assert "What failed and why" in text
    assert "Prompt caching (1h TTL) / Anthropic / Opus" in text and "cache_control ttl not forwarded" in text
    assert "(regression)" in text
    assert "Tool search (MCP discovery) / Bedrock Invoke / Haiku" in text and "tool_search_tool_regex_20251119" in text
    failures = b.js("document.querySelectorAll('#what-failed li.failure').length")
    assert failures == sum(1 for c in _run().cells() for t in c.tiers if t.status == "fail")
