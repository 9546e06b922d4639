"""Credential modes as data: each mode's check, the choice, the token endpoints the
emulator answers for them (botocore's STS parser as the oracle), and the redaction that
keeps the emulator's own credentials (so replay can still tell where a token came from)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccmatrix import catalog
from ccmatrix.cassette.redact import REDACTED, redact_json, redact_text
from ccmatrix.emulator import EmulatedRequest, respond
from ccmatrix.providers import (
    DEFAULT_CHOICE,
    CredentialChoice,
    CredentialsError,
    bedrock,
    choose,
    live_variables,
    vertex_ai,
)
from ccmatrix.providers.contract import ProviderRequest
from ccmatrix.providers.credentials import BEDROCK_API_KEY_PREFIX, METADATA_TOKEN, SERVICE_ACCOUNT_TOKEN
from ccmatrix.proxy import litellm_config

INVOKE = "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke"
VERTEX = "/v1/projects/p/locations/{loc}/publishers/anthropic/models/claude-haiku-4-5@20251001:rawPredict"


def sigv4(key: str = "AKIAIOSFODNN7EXAMPLE", region: str = "us-east-1", token: bool = False) -> dict[str, str]:
    headers = {"authorization": f"AWS4-HMAC-SHA256 Credential={key}/20261207/{region}/bedrock/aws4_request, "
                                "SignedHeaders=content-type;host;x-amz-date, Signature=abc"}
    return {**headers, "x-amz-security-token": "IQoJ..."} if token else headers


AUTHENTICATIONS = {
    "bedrock api key": {"authorization": f"Bearer {BEDROCK_API_KEY_PREFIX}xyz"},
    "sigv4 access keys": sigv4(),
    "sigv4 assumed role": sigv4("ASIACCMXABCDEEXAMPLE", token=True),
    "metadata server token": {"authorization": f"Bearer {METADATA_TOKEN}abc"},
    "service account token": {"authorization": f"Bearer {SERVICE_ACCOUNT_TOKEN}abc"},
    "api key": {"x-api-key": "sk-ant-api03-xyz"},
    "nothing": {},
}
# what each mode takes of the above; every other one it refuses
TAKES = {
    ("bedrock_invoke", "api-key"): {"bedrock api key"},
    ("bedrock_invoke", "sigv4"): {"sigv4 access keys", "sigv4 assumed role"},  # a session token is allowed
    ("bedrock_invoke", "assumed-role"): {"sigv4 assumed role"},
    ("vertex_ai", "metadata-server"): {"metadata server token"},
    ("vertex_ai", "service-account"): {"service account token"},
    ("anthropic", "api-key"): {"api key"},
    ("azure", "api-key"): {"api key"},
}


def _request(provider_id: str, mode_id: str, headers: dict[str, str]) -> ProviderRequest:
    provider = catalog.provider(provider_id)
    if provider_id == "vertex_ai":
        location = provider.credential_mode(mode_id).location
        host = "aiplatform.googleapis.com" if location == "global" else f"{location}-aiplatform.googleapis.com"
        return ProviderRequest.of("POST", host, VERTEX.format(loc=location), headers, {})
    host = {"anthropic": "api.anthropic.com", "azure": "r.services.ai.azure.com"}.get(
        provider_id, "bedrock-runtime.us-east-1.amazonaws.com")
    return ProviderRequest.of("POST", host, INVOKE if provider_id.startswith("bedrock") else "/v1/messages", headers, {})


@pytest.mark.parametrize(("provider_id", "mode_id"), sorted(TAKES))
def test_each_mode_takes_its_own_authentication_and_refuses_every_other_naming_itself(provider_id, mode_id):
    mode = catalog.provider(provider_id).credential_mode(mode_id)
    rule = mode.rule(provider_id)
    for name, headers in AUTHENTICATIONS.items():
        violation = rule.violation(_request(provider_id, mode_id, headers))
        if name in TAKES[(provider_id, mode_id)]:
            assert violation is None, (name, violation)
        else:
            assert violation is not None, name
            assert violation.rule.id == f"{provider_id}.credentials.{mode_id}"


def test_a_refusal_says_what_the_mode_expected_and_what_came():
    rule = bedrock.CREDENTIAL_MODES[0].rule("bedrock_invoke")
    violation = rule.violation(_request("bedrock_invoke", "api-key", sigv4()))
    assert "a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK)" in violation.message
    assert "it was SigV4-signed with access key AKIAIOSF..." in violation.message
    # and the provider refuses it as unauthenticated, in its own shape
    status, headers, body = catalog.provider("bedrock_invoke").refusal(violation, "0" * 64)
    assert status == 403 and headers["x-amzn-ErrorType"].startswith("UnrecognizedClientException")
    status, _, body = catalog.provider("vertex_ai").refusal(violation, "0" * 64)
    assert status == 401 and b"UNAUTHENTICATED" in body


def test_sigv4_for_another_region_or_a_vertex_request_elsewhere_is_refused():
    rule = catalog.provider("bedrock_invoke").credential_mode("sigv4").rule("bedrock_invoke")
    assert "us-west-2/bedrock" in rule.violation(_request("bedrock_invoke", "sigv4", sigv4(region="us-west-2"))).message
    global_rule = vertex_ai.CREDENTIAL_MODES[0].rule("vertex_ai")
    regional = ProviderRequest.of("POST", "us-east5-aiplatform.googleapis.com", VERTEX.format(loc="us-east5"),
                                  AUTHENTICATIONS["metadata server token"], {})
    assert "location is global" in global_rule.violation(regional).message


def test_the_default_is_the_live_harness_and_the_config_says_so():
    for p in catalog.PROVIDERS:
        assert DEFAULT_CHOICE.for_provider(p).live_default, p.id
    document = litellm_config.build_config()
    params = {m["model_name"]: m["litellm_params"] for m in document["model_list"]}
    # the harness's test_config.yaml: Bedrock deployments carry only the region, Vertex the project and location
    assert params["claude-haiku-4-5-bedrock-invoke"] == {
        "model": "bedrock/invoke/us.anthropic.claude-haiku-4-5-20251001-v1:0", "aws_region_name": "us-east-1"}
    assert params["claude-opus-4-7-vertex"] == {
        "model": "vertex_ai/claude-opus-4-7", "vertex_ai_project": "os.environ/VERTEXAI_PROJECT",
        "vertex_ai_location": "os.environ/VERTEXAI_LOCATION"}
    assert live_variables() == ("ANTHROPIC_API_KEY", "AWS_BEARER_TOKEN_BEDROCK", "VERTEXAI_PROJECT",
                                "VERTEXAI_LOCATION", "AZURE_AI_API_BASE", "AZURE_AI_API_KEY")
    before = choose(["sigv4", "service-account"], catalog.PROVIDERS)
    assert "AWS_ACCESS_KEY_ID" in live_variables(before) and "VERTEXAI_CREDENTIALS" in live_variables(before)


def test_choose_reads_modes_for_all_or_one_provider_and_names_what_there_is():
    assert choose(["sigv4"], catalog.PROVIDERS).modes == {"bedrock_invoke": "sigv4", "bedrock_converse": "sigv4"}
    choice = choose(["bedrock_converse=assumed-role,service-account"], catalog.PROVIDERS)
    assert choice.modes == {"bedrock_converse": "assumed-role", "vertex_ai": "service-account"}
    assert CredentialChoice.decode(choice.encode()) == choice
    with pytest.raises(CredentialsError, match="no such credential mode .*vertex_ai: metadata-server, service-account"):
        choose(["kerberos"], catalog.PROVIDERS)
    with pytest.raises(CredentialsError, match="no provider 'bedrock'"):
        choose(["bedrock=sigv4"], catalog.PROVIDERS)
    with pytest.raises(CredentialsError, match="anthropic: api-key"):
        choose(["anthropic=sigv4"], catalog.PROVIDERS)


def _emulate(method: str, host: str, path: str, headers: dict[str, str], body: bytes = b""):  # type: ignore[no-untyped-def]
    return respond(EmulatedRequest(method, host, path, headers, body))


def test_the_emulators_sts_answers_as_botocore_parses_it():
    from botocore import parsers, session

    model = session.get_session().get_service_model("sts")
    parser = parsers.create_parser("query")
    signed = {"authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261207/us-east-1/sts/aws4_request"}
    for action, form in (("GetCallerIdentity", b"Action=GetCallerIdentity&Version=2011-06-15"),
                         ("AssumeRole", b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A"
                                        b"123456789012%3Arole%2Fccmatrix-bedrock&RoleSessionName=ccmatrix")):
        answer = _emulate("POST", "sts.us-east-1.amazonaws.com", "/", signed, form)
        parsed = parser.parse({"status_code": answer.status, "headers": answer.headers, "body": b"".join(answer.chunks)},
                              model.operation_model(action).output_shape)
        assert answer.status == 200, parsed
        if action == "AssumeRole":
            key = parsed["Credentials"]["AccessKeyId"]
            assert key.startswith("ASIACCMX") and key.endswith("EXAMPLE") and len(key) == 20
            assert parsed["Credentials"]["SessionToken"] and parsed["Credentials"]["Expiration"].year == 2099
            assert parsed["AssumedRoleUser"]["Arn"].endswith(":assumed-role/ccmatrix-bedrock/ccmatrix")
        else:
            assert parsed["Account"] == "123456789012"
    unsigned = _emulate("POST", "sts.amazonaws.com", "/", {}, b"Action=AssumeRole")
    assert unsigned.status == 403


def test_the_emulators_metadata_server_needs_the_flavor_header_and_hands_out_its_own_token():
    flavor = {"Metadata-Flavor": "Google"}
    assert _emulate("GET", "169.254.169.254", "/", flavor).headers["Metadata-Flavor"] == "Google"
    assert _emulate("GET", "metadata.google.internal", "/computeMetadata/v1/project/project-id", {}).status == 403
    token = _emulate("GET", "metadata.google.internal",
                     "/computeMetadata/v1/instance/service-accounts/default/token?scopes=x", flavor)
    assert b'"access_token":"' + METADATA_TOKEN.encode() in b"".join(token.chunks)


def test_redaction_keeps_the_emulators_credentials_and_removes_real_looking_ones():
    assert redact_json({"access_token": METADATA_TOKEN + "abc"}) == {"access_token": METADATA_TOKEN + "abc"}
    assert redact_json({"access_token": "ya29.a0AfH6SMBx"}) == {"access_token": REDACTED}
    assert redact_text("<AccessKeyId>ASIACCMXABCDEEXAMPLE</AccessKeyId>") == "<AccessKeyId>ASIACCMXABCDEEXAMPLE</AccessKeyId>"
    assert REDACTED in redact_text("<AccessKeyId>ASIAQWERTYUIOEXAMPLE</AccessKeyId>")


def test_providers_that_share_an_environment_cannot_run_a_mode_that_takes_it_over_beside_another():
    from ccmatrix.providers import conflict

    invoke, converse, vertex = (catalog.provider(p) for p in ("bedrock_invoke", "bedrock_converse", "vertex_ai"))
    mixed = choose(["bedrock_converse=assumed-role"], catalog.PROVIDERS)  # bedrock_invoke stays on api-key
    problem = conflict(mixed, [invoke, converse, vertex])
    assert problem.startswith("bedrock_invoke=api-key, bedrock_converse=assumed-role: these providers read one")
    assert "AWS_BEARER_TOKEN_BEDROCK" in problem
    assert conflict(mixed, [converse, vertex]) is None  # alone, the column takes its own mode
    assert conflict(choose(["bedrock_invoke=sigv4,bedrock_converse=assumed-role"], catalog.PROVIDERS),
                    [invoke, converse]) is None  # keys and a role: each deployment names its own
    assert conflict(DEFAULT_CHOICE, list(catalog.PROVIDERS)) is None
    # and only the run's providers' variables reach LiteLLM
    from ccmatrix.proxy.credentials import fake_credentials

    assert "AWS_BEARER_TOKEN_BEDROCK" not in fake_credentials(Path("/nonexistent"), choice=mixed, among=[converse])


def test_the_shared_secret_scanner_passes_over_the_emulators_credentials(tmp_path):
    """The emulator's tokens and keys are kept in cassettes: they say "example", as AWS's
    documentation keys do, so a secret scanner does not take them for real ones."""
    import subprocess

    from ccmatrix.bundled import CHECKOUT_DIR

    scanner = CHECKOUT_DIR.parent / "shared" / "tools" / "scan-secrets"
    if not scanner.exists():
        pytest.skip(f"{scanner} not present beside the checkout")
    sts = _emulate("POST", "sts.amazonaws.com", "/", {"authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/"
                                                      "20261207/us-east-1/sts/aws4_request"},
                   b"Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName=s")
    token = _emulate("GET", "metadata.google.internal", "/computeMetadata/v1/instance/service-accounts/default/token",
                     {"Metadata-Flavor": "Google"})
    (tmp_path / "answers.txt").write_bytes(b"".join(sts.chunks) + b"\n" + b"".join(token.chunks))
    proc = subprocess.run([str(scanner), str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout
