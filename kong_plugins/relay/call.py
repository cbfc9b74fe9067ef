"""What bedrock-proxy decided, handed to the relay through the request context.

`plan_call` is pure: from the client's request (already converted to the
internal Anthropic shape) and the catalogue entry it builds the Bedrock
operation and body. Translation errors surface here, in access, as 400s
before any Bedrock call.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Any, Mapping

from kong_plugins.bedrock.request_metadata import MEMBER as METADATA_MEMBER, invoke_header
from kong_plugins.context import ImageCount, Usage
from kong_plugins.formats import anthropic, converse, openai_passthrough, reasoning, wire_json
from kong_plugins.formats.embedding_models import EmbeddingModel, embedding_model
from kong_plugins.formats.image_models import ImageJob, planned
from kong_plugins.formats.rerank import RerankJob
from kong_plugins.formats.api import ApiFormat
from kong_plugins.formats.openai_embeddings import EmbeddingRequest
from kong_plugins.formats.tool_kinds import FUNCTIONS_ONLY, ToolKinds
from kong_plugins.policy import service_tier
from kong_plugins.policy.catalogue import CatalogueEntry, Guardrail

MANTLE_HEADERS = (("anthropic-version", "2023-06-01"),)
REQUEST_ID_HEADER = "X-Kong-Request-Id"
"""Kong 3.6 sets it on every upstream request (kong_defaults: headers_upstream = x-kong-request-id,
nginx_kong.lua: proxy_set_header X-Kong-Request-Id $kong_request_id): the relay's context key."""


@dataclass(frozen=True)
class EmbeddingPlan:
    bodies: tuple[bytes, ...]   # InvokeModel bodies (Titan: one per text; Cohere: 96 texts each), in order
    encoding: str               # the client's encoding_format: float | base64
    model: EmbeddingModel       # reads the answers (by the Bedrock model id: the call may name a profile ARN)


@dataclass(frozen=True)
class ImagePlan:
    asked: ImageCount        # what Bedrock bills if it draws every image asked for (the answer says how many it drew)
    response_format: str     # the OpenAI client's b64_json | url; "" for a Bedrock-native client (its bytes unchanged)


@dataclass(frozen=True)
class ApplyPlan:
    """Bedrock's ApplyGuardrail (relay.guardrail_apply): no model, billed per guardrail text unit."""

    identifier: str                          # the guardrail's id or ARN, as the client named it
    version: str                             # a number or DRAFT
    reserved: tuple[tuple[str, int], ...]    # the text units by policy budgets reserve before the call


@dataclass(frozen=True)
class UpstreamCall:
    api: ApiFormat          # the client's format (responses and errors use it)
    operation: str          # invoke | invoke-with-response-stream | converse | converse-stream
    model_name: str         # catalogue name
    client_model: str       # the model name the response reports (the client's, or a fallback's catalogue name)
    model_id: str           # Bedrock model / inference-profile id / application inference profile ARN
    region: str
    body: bytes             # the body to send to Bedrock (already translated)
    stream: bool
    include_usage: bool = False   # OpenAI stream_options.include_usage
    response_id: str = ""
    beta_allowlist: frozenset[str] | None = None   # merge the client's anthropic-beta header (Anthropic clients)
    service: str = "bedrock"                        # SigV4 service name (bedrock-mantle for Mantle)
    headers: tuple[tuple[str, str], ...] = ()       # extra upstream headers
    endpoint: str | None = None                     # openai-compatible: the provider's base URL
    api_key_env: str | None = None                  # openai-compatible: env var holding its API key
    tools: ToolKinds = FUNCTIONS_ONLY               # OpenAI: which tool calls are JSON mode's answer or custom tools'
    responses_api: bool = False                     # OpenAI client on /v1/responses (else Chat Completions)
    embedding: EmbeddingPlan | None = None          # operation "embed": one InvokeModel body per text
    image: ImagePlan | None = None                  # an image model's InvokeModel: billed per image
    rerank: RerankJob | None = None                 # a reranker's InvokeModel: billed per search unit
    apply: ApplyPlan | None = None                  # operation "apply-guardrail": billed per guardrail text unit
    service_tier: str = service_tier.DEFAULT        # the Bedrock service tier the call asks for
    hidden_trace: bool = False   # Bedrock's guardrail trace, asked for to price its text units, is not the client's
    gateway_guardrail: bool = False   # the role's guardrail rides on the call (else any guardrail is the client's)
    choices: int = 1             # OpenAI Chat's `n`: this call made that many times at once, no fallback
    stop_sequence: str | None = None   # the request's only stop sequence (Converse does not say which one matched)

    @property
    def billable(self) -> bool:
        """Token counting calls cost nothing and are not metered against budgets."""
        return self.operation not in ("count-tokens", "mantle-count-tokens")

    @property
    def billed_apiece(self) -> Usage:
        """What Bedrock bills for this call besides tokens if it does all it is asked: images, search units,
        guardrail text units (token-meter reserves it; the answer says what to charge)."""
        if self.image is not None:
            return Usage(images=(self.image.asked,))
        if self.apply is not None:
            return Usage(guardrail_units=dict(self.apply.reserved))
        return Usage(search_units=self.rerank.search_units) if self.rerank is not None else Usage()

    @property
    def tiered(self) -> bool:
        """The call runs a model on a service tier; ApplyGuardrail runs none, so it has no tier to report."""
        return self.apply is None

    @property
    def is_mantle(self) -> bool:
        return self.operation.startswith("mantle-")

    @property
    def upstream_is_converse(self) -> bool:
        return self.operation.startswith("converse")


def _only(values: Any) -> str | None:
    """The one string of a list of one."""
    return values[0] if isinstance(values, list) and len(values) == 1 and isinstance(values[0], str) else None


@dataclass(frozen=True)
class BodyPolicy:
    """What Bedrock accepts in an Anthropic body: top-level fields and beta names (None: anything)."""

    fields: frozenset[str] | None = None
    betas: frozenset[str] | None = None


def plan_call(api: ApiFormat, internal: dict[str, Any], entry: CatalogueEntry, *, client_model: str,
              region: str, include_usage: bool = False, policy: BodyPolicy = BodyPolicy(),
              bodies: dict[Any, tuple[str, bytes]] | None = None, tools: ToolKinds = FUNCTIONS_ONLY,
              responses_api: bool = False, guardrail: Guardrail | None = None,
              tier: str = service_tier.DEFAULT, metadata: Mapping[str, str] | None = None) -> UpstreamCall:
    """Choose the Bedrock operation for (client format, model kind) and build its body.

    Anthropic clients on Claude use InvokeModel with the Anthropic body (lossless);
    everything else goes through Converse, which every Bedrock text model speaks.
    `bodies`: shared by the candidates of one request (the model and its
    fallbacks), so candidates of one kind reuse one encoded body: a Claude Code
    call is 100-300 KB, built once rather than once per fallback.
    `guardrail`: the role's Bedrock guardrail (the caller refuses kinds that cannot carry one). Its trace is
    always asked for, because it is the only place Bedrock reports the text units it bills the guardrail by;
    OpenAI clients never see it, and an Anthropic client on InvokeModel only when the role says `trace`.
    `tier`: the Bedrock service tier (policy.service_tier.choose), named only when not Standard.
    `metadata`: who is calling, for Bedrock's invocation logs (Converse's body member, InvokeModel's header).
    """
    stream = internal.get("stream") is True
    prefix = ("resp_" if responses_api else "chatcmpl-") if api is ApiFormat.OPENAI else "msg_bdrk_"
    if entry.kind == "mantle":   # Opus 4.7 takes no system turn (Claude Code sends one for names it does not know)
        return UpstreamCall(api=api, operation="mantle-messages", model_name=entry.name, client_model=client_model,
                            model_id=entry.bedrock_id, region=entry.region or region, stream=stream,
                            body=_json({**anthropic.fold_system_messages(internal), "model": entry.bedrock_id}),
                            include_usage=include_usage,
                            response_id=prefix + secrets.token_urlsafe(18), service="bedrock-mantle",
                            headers=MANTLE_HEADERS, tools=tools, responses_api=responses_api)
    metered = replace(guardrail, trace=True) if guardrail is not None else None
    operation, body = _operation_and_body(api, internal, entry, policy, {} if bodies is None else bodies,
                                          metered, tier, metadata)
    if stream:
        operation = "invoke-with-response-stream" if operation == "invoke" else "converse-stream"
    return UpstreamCall(api=api, operation=operation, model_name=entry.name, client_model=client_model,
                        model_id=entry.invocation_id, region=entry.invocation_region or region, body=body,
                        stream=stream,
                        include_usage=include_usage, response_id=prefix + secrets.token_urlsafe(18),
                        tools=tools, responses_api=responses_api, service_tier=tier,
                        headers=guardrail_headers(metered) + tier_headers(tier) + invoke_header(metadata)
                        if operation.startswith("invoke") else (),
                        hidden_trace=guardrail is not None and not guardrail.trace and operation.startswith("invoke"),
                        gateway_guardrail=guardrail is not None, stop_sequence=_only(internal.get("stop_sequences")),
                        beta_allowlist=policy.betas if api is ApiFormat.ANTHROPIC and entry.kind == "claude" else None)


def under_one_id(plan: list[UpstreamCall]) -> list[UpstreamCall]:
    """A request's model and fallbacks answer under the first's id: a background or kept Response was given it
    before any model answered, and its answer must land under it whichever model gives it."""
    return [replace(call, response_id=plan[0].response_id) for call in plan]


def _operation_and_body(api: ApiFormat, internal: dict[str, Any], entry: CatalogueEntry, policy: BodyPolicy,
                        bodies: dict[Any, tuple[str, bytes]], guardrail: Guardrail | None,
                        tier: str, metadata: Mapping[str, str] | None) -> tuple[str, bytes]:
    """InvokeModel's Anthropic body or Converse's; both depend on the model's kind and whether it caches prompts,
    not on the model (InvokeModel's on whether it thinks adaptively, Converse's on the tier, a body member there)."""
    invoke = api is ApiFormat.ANTHROPIC and entry.kind == "claude"
    caches = entry.caches_prompts
    key = ("invoke", caches, entry.adaptive_thinking) if invoke else ("converse", entry.kind == "claude", tier, caches)
    if key not in bodies:
        folded = anthropic.fold_system_messages(internal)
        if invoke:
            request = folded if entry.adaptive_thinking else reasoning.budgeted(folded)
            bodies[key] = ("invoke", anthropic.invoke_body(request, policy.fields, policy.betas))
        else:
            body = converse.request_from_anthropic(folded, model_fields=entry.kind == "claude")
            body = with_request_metadata(with_tier(with_guardrail_config(body, guardrail), tier), metadata)
            bodies[key] = ("converse", _json(body))
    return bodies[key]


def tier_headers(tier: str) -> tuple[tuple[str, str], ...]:
    """InvokeModel names its tier in a header; Standard goes unnamed (Bedrock's default)."""
    return () if tier == service_tier.DEFAULT else ((service_tier.HEADER, tier),)


def with_request_metadata(body: dict[str, Any], metadata: Mapping[str, str] | None) -> dict[str, Any]:
    if metadata:
        body[METADATA_MEMBER] = dict(metadata)
    return body


def with_tier(body: dict[str, Any], tier: str) -> dict[str, Any]:
    """Converse names its tier in the body; Standard goes unnamed, replacing what a native client named."""
    if tier == service_tier.DEFAULT:
        body.pop("serviceTier", None)
    else:
        body["serviceTier"] = {"type": tier}
    return body


GUARDRAIL_HEADERS = ("X-Amzn-Bedrock-GuardrailIdentifier", "X-Amzn-Bedrock-GuardrailVersion", "X-Amzn-Bedrock-Trace")
LATENCY_HEADER = "X-Amzn-Bedrock-PerformanceConfig-Latency"
"""InvokeModel's latency-optimized inference (`optimized`; Converse's is its body's performanceConfig)."""


def guardrail_headers(guardrail: Guardrail | None) -> tuple[tuple[str, str], ...]:
    """InvokeModel carries a guardrail in headers."""
    if guardrail is None:
        return ()
    headers = ((GUARDRAIL_HEADERS[0], guardrail.identifier), (GUARDRAIL_HEADERS[1], guardrail.version))
    return headers + (((GUARDRAIL_HEADERS[2], "ENABLED"),) if guardrail.trace else ())


def with_guardrail_config(body: dict[str, Any], guardrail: Guardrail | None) -> dict[str, Any]:
    """Converse carries it in the body; the role's guardrail replaces one a native client sent, and judges the
    whole prompt: a `guardContent` block (with one, Bedrock judges only those) becomes the plain block it wraps."""
    if guardrail is not None:
        body["guardrailConfig"] = {"guardrailIdentifier": guardrail.identifier,
                                   "guardrailVersion": guardrail.version,
                                   "trace": "enabled" if guardrail.trace else "disabled"}
        for blocks in _content_lists(body):
            blocks[:] = [_unguarded(block) for block in blocks]
    return body


INVOKE_GUARDRAIL_FIELD = "amazon-bedrock-guardrailConfig"
"""InvokeModel's own guardrail setting (tagSuffix: only text between the tagged markers is judged)."""


def _content_lists(body: dict[str, Any]) -> list[list[Any]]:
    """The block lists of a Converse body: its system prompt and each message's content."""
    lists = [body["system"]] if isinstance(body.get("system"), list) else []
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else ():
        if isinstance(message, dict) and isinstance(message.get("content"), list):
            lists.append(message["content"])
    return lists


def _unguarded(block: Any) -> Any:
    """A guardContent block as the text or image block it marks; anything else as it is."""
    guarded = block.get("guardContent") if isinstance(block, dict) else None
    if not isinstance(guarded, dict):
        return block
    text = guarded.get("text")
    if isinstance(text, dict) and isinstance(text.get("text"), str):
        return {"text": text["text"]}
    return {"image": guarded["image"]} if isinstance(guarded.get("image"), dict) else block


NATIVE_OPERATIONS = frozenset({"invoke", "invoke-with-response-stream", "converse", "converse-stream",
                               "count-tokens"})


RUNTIME_KINDS = frozenset({"claude", "converse", "embedding", "image", "rerank"})
"""Catalogue kinds Bedrock Runtime's `/model/{id}/...` serves: not Mantle's models (Bedrock serves them through its
Anthropic Messages API only) nor another provider's OpenAI endpoint."""
CONVERSE_KINDS = frozenset({"claude", "converse"})


def native_refusal(entry: CatalogueEntry, operation: str) -> str | None:
    """Why a Bedrock-native call cannot reach `entry` (None: it can). Sent on, Bedrock would refuse the id, which
    the gateway would take for its own misconfiguration (a critical alert) and answer from a fallback model."""
    if entry.kind in RUNTIME_KINDS:
        return None
    where = "Bedrock Mantle's Anthropic Messages API (POST /v1/messages)" if entry.kind == "mantle" else \
        "the OpenAI Chat Completions API (POST /v1/chat/completions)"
    return f"{entry.name} is not served by Bedrock Runtime's {operation}; call it through {where}."


def native_fallbacks(entry: CatalogueEntry, fallbacks: list[CatalogueEntry], operation: str,
                     body: Mapping[str, Any]) -> list[CatalogueEntry]:
    """The fallbacks that take the client's body as it is: any Bedrock Runtime chat model for Converse (one format
    for all), only another Claude for InvokeModel and CountTokens (each model family has its own body). A Converse
    body with additionalModelRequestFields (a family's own: Claude's thinking, say) is one family's too."""
    if operation.startswith("converse") and not body.get("additionalModelRequestFields"):
        return [e for e in fallbacks if e.kind in CONVERSE_KINDS] if entry.kind in CONVERSE_KINDS else []
    return [e for e in fallbacks if e.kind == "claude"] if entry.kind == "claude" else []


def plan_passthrough(operation: str, body: bytes, entry: CatalogueEntry, *, region: str,
                     guardrail: Guardrail | None = None, tier: str = service_tier.DEFAULT,
                     asked_tier: str | None = None, metadata: Mapping[str, str] | None = None,
                     images: ImageCount | None = None, rerank: RerankJob | None = None) -> UpstreamCall:
    """Bedrock-native clients: same operation, same body, re-signed by the gateway (plus the role's guardrail,
    service tier and `metadata`, the client's pairs and ours: in a Converse body, which is re-encoded only
    when one of them changes it, or InvokeModel's header). `images`, `rerank`: what an image model's or a
    reranker's body asks Bedrock to bill."""
    counting = operation == "count-tokens"
    model_id = foundation_model_id(entry.bedrock_id) if counting else entry.invocation_id
    headers: tuple[tuple[str, str], ...] = ()
    if operation.startswith("converse") and (guardrail is not None or metadata
                                             or tier != (asked_tier or service_tier.DEFAULT)):
        body = _json(with_request_metadata(with_tier(with_guardrail_config(wire_json.loads(body), guardrail), tier),
                                           metadata))
    elif counting and entry.kind == "claude" and not entry.adaptive_thinking:   # as InvokeModel's body, below
        body = reasoning.budgeted_count_body(body)
    elif operation.startswith("invoke"):
        headers = guardrail_headers(guardrail) + tier_headers(tier) + invoke_header(metadata)
        if entry.kind == "claude" and not entry.adaptive_thinking:   # the family rule's older Claude serves it
            body = reasoning.budgeted_body(body)
        if guardrail is not None and INVOKE_GUARDRAIL_FIELD.encode() in body:   # the role's guardrail judges it all
            parsed = wire_json.loads(body)
            if isinstance(parsed, dict) and parsed.pop(INVOKE_GUARDRAIL_FIELD, None) is not None:
                body = _json(parsed)
    return UpstreamCall(api=ApiFormat.BEDROCK, operation=operation, model_name=entry.name,
                        client_model=entry.bedrock_id, model_id=model_id,
                        region=(entry.region if counting else entry.invocation_region) or region,
                        body=body, stream=operation.endswith("stream"), headers=headers, service_tier=tier,
                        gateway_guardrail=guardrail is not None,
                        image=ImagePlan(images, "") if images is not None and operation == "invoke" else None,
                        rerank=rerank if operation == "invoke" else None)


def plan_openai_compatible(request: dict[str, Any], entry: CatalogueEntry, *, client_model: str,
                           include_usage: bool) -> UpstreamCall:
    """OpenAI clients on an OpenAI-compatible provider: the body passes through (model replaced)."""
    return UpstreamCall(api=ApiFormat.OPENAI, operation="openai-chat", model_name=entry.name,
                        client_model=client_model, model_id=entry.bedrock_id, region="",
                        body=openai_passthrough.upstream_body(request, entry.bedrock_id),
                        stream=request.get("stream") is True, include_usage=include_usage,
                        endpoint=entry.base_url, api_key_env=entry.api_key_env)


def plan_embeddings(request: EmbeddingRequest, entry: CatalogueEntry, *, client_model: str,
                    region: str, metadata: Mapping[str, str] | None = None) -> UpstreamCall:
    """OpenAI embeddings: InvokeModel calls of the model's batch size, no fallback (another model's vectors would
    not be comparable with the ones the client already stored). RequestError if the model cannot take it."""
    model = embedding_model(entry.bedrock_id)
    plan = EmbeddingPlan(bodies=model.bodies(request, entry.name), encoding=request.encoding, model=model)
    return UpstreamCall(api=ApiFormat.OPENAI, operation="embed", model_name=entry.name, client_model=client_model,
                        model_id=entry.invocation_id, region=entry.invocation_region or region, body=plan.bodies[0],
                        stream=False, embedding=plan, headers=invoke_header(metadata))


def plan_images(job: ImageJob, entry: CatalogueEntry, *, client_model: str, response_format: str, region: str,
                metadata: Mapping[str, str] | None = None) -> UpstreamCall:
    """OpenAI image generation: one InvokeModel call, no fallback (another model draws another picture).
    RequestError: the model cannot draw what the job asks (Stability's draw one image, with no cfg_scale)."""
    body, billed = planned(job, entry.bedrock_id)
    return UpstreamCall(api=ApiFormat.OPENAI, operation="invoke", model_name=entry.name, client_model=client_model,
                        model_id=entry.invocation_id, region=entry.invocation_region or region, body=body,
                        stream=False, image=ImagePlan(billed, response_format), headers=invoke_header(metadata))


def plan_rerank(job: RerankJob, entry: CatalogueEntry, *, client_model: str, region: str,
                metadata: Mapping[str, str] | None = None) -> UpstreamCall:
    """Cohere-format reranking: one InvokeModel call, no fallback (scores of another model are not comparable)."""
    return UpstreamCall(api=ApiFormat.COHERE, operation="invoke", model_name=entry.name, client_model=client_model,
                        model_id=entry.invocation_id, region=entry.invocation_region or region, body=job.body(),
                        stream=False, rerank=job, headers=invoke_header(metadata))


def plan_count(internal: dict[str, Any], entry: CatalogueEntry, *, region: str,
               api: ApiFormat = ApiFormat.ANTHROPIC, policy: BodyPolicy = BodyPolicy()) -> UpstreamCall:
    """CountTokens takes a foundation-model id, so the geo prefix of a profile id is dropped. `api`: whose
    answer the count is rendered as (Anthropic's count_tokens, or OpenAI's responses/input_tokens); an Anthropic
    client's anthropic-beta header joins the counted body as it joins /v1/messages' (relay.app)."""
    if entry.kind == "mantle":
        body = {k: v for k, v in anthropic.fold_system_messages(internal).items() if k not in ("max_tokens", "stream")}
        return UpstreamCall(api=api, operation="mantle-count-tokens", model_name=entry.name,
                            client_model=entry.name, model_id=entry.bedrock_id, region=entry.region or region,
                            body=_json({**body, "model": entry.bedrock_id}), stream=False,
                            service="bedrock-mantle", headers=MANTLE_HEADERS)
    return UpstreamCall(api=api, operation="count-tokens", model_name=entry.name,
                        client_model=entry.name, model_id=foundation_model_id(entry.bedrock_id),
                        region=entry.region or region,
                        body=anthropic.count_tokens_body(internal if entry.adaptive_thinking else
                                                         reasoning.budgeted(internal), policy.fields, policy.betas),
                        stream=False, beta_allowlist=policy.betas if api is ApiFormat.ANTHROPIC else None)


def foundation_model_id(model_id: str) -> str:
    head, _, rest = model_id.partition(".")
    return rest if head in GEO_PREFIXES and rest else model_id


GEO_PREFIXES = frozenset({"us", "eu", "apac", "jp", "au", "us-gov", "global", "ca", "sa"})


def _json(obj: Any) -> bytes:
    return wire_json.dumps(obj)
