"""Credentials for the LiteLLM process.

Offline (replay, emulate) every credential is a throwaway made on the spot by
its provider (ccmatrix/providers/): it must look real enough for LiteLLM to sign
requests (SigV4, a Vertex token exchange with a real RSA-signed JWT), and it is
worthless outside the run. Live runs take the operator's own from the environment.
"""

from __future__ import annotations

import os
from pathlib import Path

from ccmatrix import providers
from ccmatrix.errors import CcmatrixError

LIVE_VARIABLES = providers.live_variables()
OPTIONAL_LIVE_VARIABLES = providers.optional_live_variables()


class MissingCredentials(CcmatrixError):
    pass


def fake_credentials(workdir: Path, token_uri: str | None = None) -> dict[str, str]:
    return providers.fake_credentials(workdir, token_uri)


def live_credentials(environ: dict[str, str] | None = None) -> dict[str, str]:
    environ = dict(os.environ if environ is None else environ)
    missing = [v for v in LIVE_VARIABLES if not environ.get(v)]
    if missing:
        raise MissingCredentials("live mode needs these environment variables: " + ", ".join(missing))
    return {v: environ[v] for v in LIVE_VARIABLES + OPTIONAL_LIVE_VARIABLES if environ.get(v)}
