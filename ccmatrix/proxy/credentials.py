"""Credentials for the LiteLLM process.

Offline (replay, emulate) every credential is a throwaway made on the spot by
its provider (ccmatrix/providers/): it must look real enough for LiteLLM to sign
requests (SigV4, a Vertex token exchange with a real RSA-signed JWT), and it is
worthless outside the run. Live runs take the operator's own from the environment.
Which credentials a provider's deployments use is its credential mode
(ccmatrix/providers/credentials.py; default: the live harness's).
"""

from __future__ import annotations

import os
from pathlib import Path

from ccmatrix import providers
from ccmatrix.errors import CcmatrixError
from ccmatrix.providers import DEFAULT_CHOICE, CredentialChoice

LIVE_VARIABLES = providers.live_variables()  # of the default modes (the live harness's)
OPTIONAL_LIVE_VARIABLES = providers.optional_live_variables()


class MissingCredentials(CcmatrixError):
    pass


def fake_credentials(workdir: Path, token_uri: str | None = None, choice: CredentialChoice = DEFAULT_CHOICE,
                     among: list[providers.Provider] | None = None) -> dict[str, str]:
    return providers.fake_credentials(workdir, token_uri, choice, among)


def live_credentials(environ: dict[str, str] | None = None, choice: CredentialChoice = DEFAULT_CHOICE,
                     among: list[providers.Provider] | None = None) -> dict[str, str]:
    """The operator's credentials for the modes `choice` names for the providers `among`
    (default: all), from the environment."""
    environ = dict(os.environ if environ is None else environ)
    needed, optional = providers.live_variables(choice, among), providers.optional_live_variables(choice, among)
    missing = [v for v in needed if not environ.get(v)]
    if missing:
        raise MissingCredentials("live mode needs these environment variables: " + ", ".join(missing))
    return {v: environ[v] for v in needed + optional if environ.get(v)}
