"""Microsoft Entra ID's token service (login.microsoftonline.com), for Azure OpenAI
deployments that authenticate with a service principal (`tenant_id`, `client_id`,
`client_secret`: LiteLLM's `get_azure_ad_token_from_entra_id`, through azure-identity
and MSAL).

MSAL first reads the tenant's OpenID configuration, then trades the client secret for
a token (the client-credentials grant, scope https://cognitiveservices.azure.com/.default):
learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow. The
token is deterministic and obviously fake, so recordings stay stable.
"""

from __future__ import annotations

import re

from ccmatrix.emulator.exchange import EmulatedRequest, EmulatedResponse, json_response, oauth_error
from ccmatrix.providers import ids
from ccmatrix.providers.credentials import ENTRA_TOKEN

TOKEN_LIFETIME_S = 3599
_CONFIGURATION = re.compile(r"^/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration$")
_TOKEN = re.compile(r"^/(?P<tenant>[^/]+)/oauth2/v2\.0/token$")
LOGIN = "https://login.microsoftonline.com"


def handle(req: EmulatedRequest) -> EmulatedResponse | None:
    path = req.route_path
    if req.method == "GET" and (found := _CONFIGURATION.match(path)):
        tenant = found["tenant"]
        return json_response(200, {
            "token_endpoint": f"{LOGIN}/{tenant}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{LOGIN}/{tenant}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{LOGIN}/{tenant}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
            "authorization_endpoint": f"{LOGIN}/{tenant}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{LOGIN}/{tenant}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{LOGIN}/{tenant}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "tid"],
            "tenant_region_scope": "NA",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        })
    if req.method != "POST" or not _TOKEN.match(path):
        return None
    # AADSTS errors carry more fields (error_codes, trace_id, ...); these two are OAuth's
    form = req.form
    if form.get("grant_type") != "client_credentials":
        return oauth_error("unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
    if not form.get("client_id") or not (form.get("client_secret") or req.header("authorization")):
        return oauth_error("invalid_client", "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is "
                                        "required for the 'client_credentials' grant type.", 401)
    return json_response(200, {"token_type": "Bearer", "expires_in": TOKEN_LIFETIME_S,
                               "ext_expires_in": TOKEN_LIFETIME_S, "access_token": ENTRA_TOKEN + ids.token(req.seed)})
