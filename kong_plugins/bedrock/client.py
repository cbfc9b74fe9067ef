"""A thin Bedrock Runtime caller built from botocore parts.

Why not `boto3.client("bedrock-runtime")`: the relay needs the raw response
(event-stream bytes to pass through unchanged or translate incrementally) and
must sign other services (`bedrock-mantle`) too. botocore still does the hard
parts: the credential chain (env, shared profile, ECS container credentials,
IRSA web identity, IMDS; refreshed automatically) and SigV4, or, when a Bedrock
API key is set (`AWS_BEARER_TOKEN_BEDROCK`, which botocore's own clients prefer
to SigV4 as well), bearer authorization. The bytes go
over `bedrock.transport` (kept-alive http.client connections; botocore's
urllib3 session when a proxy is configured). Under the plugin server's gevent
monkey-patching their sockets are cooperative.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import quote

import botocore.session
from botocore.auth import BearerAuth, SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.credentials import Credentials
from botocore.tokens import FrozenAuthToken
from botocore.utils import get_token_from_environment

from kong_plugins.bedrock.transport import Transport, UpstreamResponse


SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1), (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
"""On every connection to Bedrock, direct or through a proxy. Through a proxy, botocore's
session passes `socket_options=[]` when given none, which drops urllib3's default TCP_NODELAY:
a request written as headers then body then waits for the server's delayed ACK (40 ms on
Linux) on every kept-alive call. Keepalive guards long streams."""
Upstream = AWSResponse | UpstreamResponse
"""What a call returns: botocore's response through a proxy, the transport's otherwise (same attributes)."""


class NoCredentialsError(RuntimeError):
    """botocore's chain found no AWS credentials."""


@dataclass(frozen=True)
class BedrockSettings:
    endpoint_url: str | None = None   # None: the real regional endpoint
    mantle_endpoint_url: str | None = None   # None: derived from endpoint_url, else the real Mantle endpoint
    connect_timeout: float = 5.0
    read_timeout: float = 300.0
    max_pool_connections: int = 100


class BedrockClient:
    """Signs and sends Bedrock Runtime calls; one instance per process."""

    def __init__(self, settings: BedrockSettings) -> None:
        self.settings = settings
        self._botocore = botocore.session.get_session()
        self._credentials = None
        ca_bundle = self._botocore.get_config_variable("ca_bundle")   # AWS_CA_BUNDLE or the profile's
        self._http = Transport(connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout,
                               max_idle=settings.max_pool_connections, ca_bundle=ca_bundle,
                               socket_options=SOCKET_OPTIONS)

    def endpoint(self, region: str) -> str:
        if self.settings.endpoint_url:
            return self.settings.endpoint_url.rstrip("/")
        return f"https://bedrock-runtime.{region}.amazonaws.com"

    def mantle_url(self, region: str, path: str) -> str:
        """Bedrock Mantle speaks the Anthropic Messages API under `.../anthropic` (SigV4 service bedrock-mantle)."""
        if self.settings.mantle_endpoint_url:
            base = self.settings.mantle_endpoint_url.rstrip("/")
        elif self.settings.endpoint_url:
            base = self.settings.endpoint_url.rstrip("/") + "/anthropic"
        else:
            base = f"https://bedrock-mantle.{region}.api.aws/anthropic"
        return base + path

    def model_url(self, region: str, model_id: str, operation: str) -> str:
        """`/model/{id}/{op}` with the id as ONE percent-encoded segment (`/` and `:` encoded)."""
        return f"{self.endpoint(region)}/model/{quote(model_id, safe='')}/{operation}"

    def guardrail_url(self, region: str, identifier: str, version: str) -> str:
        """ApplyGuardrail's `/guardrail/{id}/version/{version}/apply`, an ARN as one percent-encoded segment."""
        return f"{self.endpoint(region)}/guardrail/{quote(identifier, safe='')}/version/{quote(version, safe='')}/apply"

    def send(self, url: str, region: str, body: bytes, *, accept: str = "application/json",
             stream: bool = False, service: str = "bedrock",
             extra_headers: dict[str, str] | None = None) -> Upstream:
        """POST `body` to `url`, SigV4-signed for `service` in `region` (or with the Bedrock API key).

        With `stream=True` the body is left unread on `response.raw`.
        Raises botocore's connection/timeout exceptions and NoCredentialsError.
        """
        headers = {"Content-Type": "application/json", "Accept": accept}
        if extra_headers:
            headers.update(extra_headers)
        request = AWSRequest(method="POST", url=url, data=body, headers=headers)
        api_key = bedrock_api_key(service)
        if api_key:
            BearerAuth(FrozenAuthToken(api_key)).add_auth(request)
        else:
            SigV4Auth(self._frozen_credentials(), service, region).add_auth(request)
        prepared = request.prepare()
        prepared.stream_output = stream
        return self._http.send(prepared)

    def send_bearer(self, url: str, body: bytes, token: str, *, stream: bool = False) -> Upstream:
        """POST to a non-AWS OpenAI-compatible endpoint with `Authorization: Bearer` (same pooled session)."""
        request = AWSRequest(method="POST", url=url, data=body, headers={
            "Content-Type": "application/json", "Accept": "text/event-stream" if stream else "application/json",
            "Authorization": f"Bearer {token}"})
        prepared = request.prepare()
        prepared.stream_output = stream
        return self._http.send(prepared)

    def _frozen_credentials(self) -> Credentials:
        if self._credentials is None:
            self._credentials = self._botocore.get_credentials()
            if self._credentials is None:
                raise NoCredentialsError("no AWS credentials found by the botocore chain")
        return self._credentials.get_frozen_credentials()


def bedrock_api_key(service: str) -> str | None:
    """A Bedrock API key from the environment, named as botocore names it for the signing name
    (`AWS_BEARER_TOKEN_BEDROCK`; for Mantle `AWS_BEARER_TOKEN_BEDROCK_MANTLE`, else the Bedrock one,
    since a Bedrock API key is good for both). Read per call, so a rotated key is used at once."""
    return get_token_from_environment(service) or (get_token_from_environment("bedrock") if service != "bedrock"
                                                   else None)
