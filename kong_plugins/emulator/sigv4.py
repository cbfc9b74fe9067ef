"""SigV4 verification with botocore's own signer, so a gateway's signing is checked for real.

We rebuild the request exactly as received (raw path, signed headers only, body bytes), let
``SigV4Auth`` compute canonical request, string-to-sign and signature with the client's
timestamp, and compare in constant time.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Protocol

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import ReadOnlyCredentials

from . import errors
from .settings import EmulatorSettings

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "bedrock"
MANTLE_SERVICE = "bedrock-mantle"


class HeaderSource(Protocol):
    """What we need from the received headers (http.client.HTTPMessage fits)."""

    def get(self, name: str, default: str | None = None) -> str | None: ...

    def get_all(self, name: str, failobj: list[str] | None = None) -> list[str] | None: ...


@dataclass(frozen=True)
class AuthHeader:
    access_key: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str) -> AuthHeader:
    """Parse ``AWS4-HMAC-SHA256 Credential=.., SignedHeaders=.., Signature=..``."""
    algorithm, _, params_text = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise errors.incomplete_signature(f"Unsupported Authorization Type: {algorithm!r}")
    params: dict[str, str] = {}
    for part in params_text.split(","):
        key, sep, val = part.strip().partition("=")
        if sep:
            params[key.strip()] = val.strip()
    for required in ("Credential", "SignedHeaders", "Signature"):
        if not params.get(required):
            raise errors.incomplete_signature(f"Authorization header requires '{required}' parameter.")
    scope = params["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise errors.incomplete_signature(
            "Credential should be of the form <access key>/<date>/<region>/<service>/aws4_request."
        )
    signed = tuple(h.strip().lower() for h in params["SignedHeaders"].split(";") if h.strip())
    return AuthHeader(scope[0], scope[1], scope[2], scope[3], signed, params["Signature"])


class _ExactHeadersSigV4(SigV4Auth):
    """SigV4Auth that signs exactly the headers the client listed (no blacklist, no host guess)."""

    def __init__(self, credentials: ReadOnlyCredentials, region: str, signed: tuple[str, ...],
                 received: HeaderSource, service: str = SERVICE) -> None:
        super().__init__(credentials, service, region)
        self._signed = signed
        self._received = received

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        header_map = HTTPHeaders()
        for name in self._signed:
            for value in self._received.get_all(name) or [""]:
                header_map[name] = value
        return header_map


def _check_api_key(settings: EmulatorSettings, token: str) -> None:
    if not (settings.bearer_token and hmac.compare_digest(token, settings.bearer_token)):
        raise errors.unrecognized_client()


def verify_request(settings: EmulatorSettings, method: str, raw_path: str,
                   headers: HeaderSource, body: bytes, *, service: str = SERVICE,
                   allow_api_key_header: bool = False) -> None:
    """Raise the Bedrock/AWS auth error a real endpoint would return, or return None if valid.

    ``service`` is the SigV4 signing name the endpoint expects (``bedrock`` for bedrock-runtime,
    ``bedrock-mantle`` for Mantle); ``allow_api_key_header`` also accepts the Bedrock API key
    as ``x-api-key`` (Mantle's Anthropic-compatible style).
    """
    authorization = headers.get("Authorization")
    if not authorization:
        api_key = headers.get("x-api-key") if allow_api_key_header else None
        if api_key:
            _check_api_key(settings, api_key.strip())
            return
        raise errors.missing_auth()
    if authorization.startswith("Bearer "):
        _check_api_key(settings, authorization[len("Bearer "):].strip())
        return
    auth = parse_authorization(authorization)
    if not hmac.compare_digest(auth.access_key, settings.access_key_id):
        raise errors.unrecognized_client()
    token = headers.get("X-Amz-Security-Token")
    if settings.session_token or token:
        if not (settings.session_token and token and hmac.compare_digest(token, settings.session_token)):
            raise errors.unrecognized_client()
    if auth.service != service:
        raise errors.invalid_signature(f"Credential should be scoped to correct service: '{service}'. ")
    if settings.region and auth.region != settings.region:
        raise errors.invalid_signature("Credential should be scoped to a valid region. ")
    timestamp = headers.get("X-Amz-Date")
    if not timestamp:
        raise errors.incomplete_signature(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if timestamp[:8] != auth.date:
        raise errors.invalid_signature(
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{auth.date}' != '{timestamp[:8]}', from '{timestamp}'."
        )
    host = headers.get("Host") or "localhost"
    request = AWSRequest(method=method, url=f"http://{host}{raw_path}", data=body)
    content_sha = headers.get("X-Amz-Content-SHA256")
    if content_sha:
        request.headers["X-Amz-Content-SHA256"] = content_sha
    request.context["timestamp"] = timestamp
    creds = ReadOnlyCredentials(settings.access_key_id, settings.secret_access_key, settings.session_token)
    signer = _ExactHeadersSigV4(creds, auth.region, auth.signed_headers, headers, service)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, auth.signature):
        raise errors.invalid_signature()
