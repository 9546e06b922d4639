"""The GCE metadata server (metadata.google.internal, 169.254.169.254): application
default credentials, as a VM's workload gets them (the live harness's Vertex mode).

google-auth, looking for credentials with no key file, pings the server's address,
reads the project, the default service account, and then its access token. Every
request must carry `Metadata-Flavor: Google`; answers carry it back
(cloud.google.com/compute/docs/metadata/querying-metadata). The token is marked as
the metadata server's (credentials.METADATA_TOKEN), so a Vertex request that carries
a token from elsewhere is told apart from one that carries this one.
"""

from __future__ import annotations

from ccmatrix.emulator.exchange import EmulatedRequest, EmulatedResponse, json_response
from ccmatrix.providers import ids
from ccmatrix.providers.credentials import METADATA_TOKEN
from ccmatrix.providers.vertex_ai import FAKE_PROJECT

FLAVOR = {"Metadata-Flavor": "Google"}
TOKEN_LIFETIME_S = 3599
ROOT = "/computeMetadata/v1"
ACCOUNT = f"{ROOT}/instance/service-accounts/default"
EMAIL = f"123456789012-compute@{FAKE_PROJECT}.iam.gserviceaccount.com"


def _text(status: int, text: str) -> EmulatedResponse:
    return EmulatedResponse(status, {"content-type": "application/text", **FLAVOR}, [text.encode()])


def handle(req: EmulatedRequest) -> EmulatedResponse | None:
    if req.method != "GET":
        return None
    if req.header("metadata-flavor") != "Google":
        # the real server refuses a request without it (a browser or a stray proxy cannot read it)
        return EmulatedResponse(403, {"content-type": "text/html"},
                                [b"Missing Metadata-Flavor:Google header."])
    path = req.route_path.rstrip("/")
    if path == "":  # google-auth's ping of the address
        return _text(200, "computeMetadata/\n")
    if path == f"{ROOT}/project/project-id":
        return _text(200, FAKE_PROJECT)
    if path == ACCOUNT:  # ?recursive=true: the account's description
        return json_response(200, {"aliases": ["default"], "email": EMAIL,
                                   "scopes": ["https://www.googleapis.com/auth/cloud-platform"]}, FLAVOR)
    if path == f"{ACCOUNT}/email":
        return _text(200, EMAIL)
    if path == f"{ACCOUNT}/token":
        return json_response(200, {"access_token": METADATA_TOKEN + ids.token(req.seed),
                                   "expires_in": TOKEN_LIFETIME_S, "token_type": "Bearer"}, FLAVOR)
    return _text(404, "Not Found")
