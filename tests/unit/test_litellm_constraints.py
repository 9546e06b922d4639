"""Release environments that start: the constraint table and the publication date.

The build itself needs the package index (tests reach no network); what it reads and
decides is tested here against data and a loopback index.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ccmatrix.proxy import litellm_constraints, litellm_env
from ccmatrix.proxy.litellm_constraints import CONSTRAINTS, fallbacks, known_overrides, known_pins

FASTAPI_141 = ("Traceback (most recent call last):\n  ...\n"
               "ImportError: cannot import name 'get_flat_dependant' from 'fastapi.dependencies.utils' "
               "(/env/lib/python3.11/site-packages/fastapi/dependencies/utils.py)\n")


def test_every_constraint_is_data_with_its_evidence():
    for c in CONSTRAINTS:
        assert c.pins or c.overrides, c
        # exact pins: a range would drift again
        assert all("==" in pin for pin in c.pins + c.overrides), c
        assert len(c.found) > 80 and c.avoids
        c.applies_to("1.0.0")  # the range parses


def test_the_table_pins_what_1_97_0_needs_and_nothing_for_others():
    assert known_pins("1.97.0") == ("fastapi==0.140.0",)
    assert known_pins("1.108.7") == () and known_pins("1.83.14") == ()


def test_what_the_index_lacks_is_relaxed_from_the_resolver_error_with_no_table():
    """uv's own words (1.109.3, 1.110.2, measured 2026-12-07): a version the index lacks
    becomes the nearest one at or below it; a package it lacks is left out."""
    from ccmatrix.proxy.litellm_constraints import NEVER, relaxation

    assert known_overrides("1.104.9") == () and known_overrides("1.109.3") == ()  # no rows to keep
    lacks_version = ("  cause: Because there is no version of litellm-enterprise==0.1.82.post1 and "
                     "litellm[proxy]==1.109.3 depends on litellm-enterprise==0.1.82.post1, we can conclude ...")
    index = {"litellm-enterprise": ["0.1.80", "0.1.82", "0.1.83", "0.1.84rc1"]}
    fix = relaxation(lacks_version, lambda name: index.get(name, []))
    assert fix is not None and fix.override == "litellm-enterprise==0.1.82"
    assert fix.describe() == "litellm-enterprise==0.1.82 (for ==0.1.82.post1, which the index lacks)"
    lacks_package = ("  cause: Because litellm-proxy was not found in the package registry and "
                     "litellm[proxy]>=1.110.2 depends on litellm-proxy==1.110.2, we can conclude ...")
    fix = relaxation(lacks_package, lambda name: [])
    assert fix is not None and fix.override == f"litellm-proxy ; {NEVER}" and "left out" in fix.describe()
    assert relaxation(lacks_version, lambda name: ["0.2.0"]) is None  # nothing at or below: no guess
    assert relaxation("error: Failed to download `boto3==1.44.18`", lambda name: []) is None


def test_a_failed_import_is_repaired_by_the_constraint_whose_error_it_shows():
    assert [c.pins for c in fallbacks(FASTAPI_141)] == [("fastapi==0.140.0",)]
    assert fallbacks(FASTAPI_141, tried=("fastapi==0.140.0",)) == []  # tried already: no loop
    assert fallbacks("ModuleNotFoundError: No module named 'backoff'") == []


@pytest.fixture
def index(monkeypatch):
    """A loopback package index answering PEP 691 JSON for litellm."""
    files = [
        {"filename": "litellm-1.97.0-cp310-abi3-manylinux_2_28_x86_64.whl", "upload-time": "2026-08-16T00:05:30.890172Z"},
        {"filename": "litellm-1.97.0.tar.gz", "upload-time": "2026-08-16T00:05:44.724173Z"},
        {"filename": "litellm-1.97.1-py3-none-any.whl", "upload-time": "2026-08-20T10:00:00Z"},
        {"filename": "litellm-1.9.0-py3-none-any.whl", "upload-time": "2023-01-01T00:00:00Z"},
    ]
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append((self.path, self.headers.get("accept")))
            versions = ["1.9.0", "1.97.0", "1.97.1", "1.98.0rc1"]
            body = json.dumps({"files": files, "versions": versions}).encode() if self.path == "/simple/litellm/" \
                else b"{}"
            self.send_response(200 if self.path == "/simple/litellm/" else 404)
            self.send_header("content-type", "application/vnd.pypi.simple.v1+json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("UV_DEFAULT_INDEX", f"http://127.0.0.1:{server.server_address[1]}/simple/")
    yield seen
    server.shutdown()


def test_a_release_is_resolved_as_of_a_day_after_its_last_file(index):
    assert litellm_env.published_at("1.97.0") == "2026-08-17T00:05:44Z"
    assert index[0] == ("/simple/litellm/", "application/vnd.pypi.simple.v1+json")
    assert litellm_env.published_at("1.9.0") == "2023-01-02T00:00:00Z"  # 1.9.0 is not 1.97.0's prefix
    assert litellm_env.published_at("1.2.3") is None  # not on the index: resolved as of now


def test_latest_is_the_newest_final_release_the_index_serves(index, monkeypatch):
    assert litellm_env.latest_release() == "1.97.1"  # not the release candidate
    monkeypatch.setenv("UV_DEFAULT_INDEX", "http://127.0.0.1:9/simple")
    with pytest.raises(litellm_env.LiteLLMEnvError, match="--litellm latest: the package index cannot say"):
        litellm_env.resolve("latest", install=False)


def test_an_index_that_does_not_answer_means_now(monkeypatch):
    monkeypatch.setenv("UV_DEFAULT_INDEX", "http://127.0.0.1:9/simple")
    assert litellm_env.published_at("1.97.0") is None


def test_provenance_of_an_environment(tmp_path):
    env = litellm_env.LiteLLMEnv(python=tmp_path / "bin" / "python", version="1.97.0")
    assert litellm_env.provenance(env) == {}
    (tmp_path / litellm_env.PROVENANCE).write_text(json.dumps({"pins": ["fastapi==0.140.0"]}))
    assert litellm_env.provenance(env) == {"pins": ["fastapi==0.140.0"]}
    assert litellm_constraints.CONSTRAINTS[0].avoids_error(FASTAPI_141)


def test_every_litellm_process_starts_with_fewer_collections_during_its_import(tmp_path):
    import subprocess
    import sys

    from ccmatrix.proxy.litellm import base_environment

    env = base_environment(tmp_path / "home")
    shown = subprocess.run([sys.executable, "-c", "import gc; print(gc.get_threshold())"], env=env,
                           capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "(200000, 50, 100)"  # ccmatrix/proxy/litellm_site/sitecustomize.py
    assert "AWS_ACCESS_KEY_ID" not in env and env["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
