"""Google's OAuth2 token endpoint (oauth2.googleapis.com/token).

LiteLLM's Vertex route (through google-auth) trades a self-signed service
account JWT for a bearer token before calling Vertex. The emulator hands out a
deterministic, obviously fake token so recordings stay stable.
"""

from __future__ import annotations

from ccmatrix.emulator.exchange import EmulatedRequest, EmulatedResponse, json_response, oauth_error
from ccmatrix.providers import ids
from ccmatrix.providers.credentials import SERVICE_ACCOUNT_TOKEN

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME_S = 3599  # what Google answers for service-account tokens


def handle(req: EmulatedRequest) -> EmulatedResponse | None:
    if req.method != "POST" or req.route_path != "/token":
        return None
    form = req.form
    grant_type = form.get("grant_type", "")
    if grant_type == JWT_BEARER:
        assertion = form.get("assertion", "")
        # a JWT is three base64url parts; the signature is not checked (the key is throwaway)
        if assertion.count(".") != 2:
            return oauth_error("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
    elif grant_type == "refresh_token":  # authorized-user credentials (gcloud ADC)
        if not form.get("refresh_token"):
            return oauth_error("invalid_request", "Missing required parameter: refresh_token")
    else:
        return oauth_error("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
    access_token = SERVICE_ACCOUNT_TOKEN + ids.token(req.seed)
    return json_response(200, {"access_token": access_token, "expires_in": TOKEN_LIFETIME_S, "token_type": "Bearer"})
