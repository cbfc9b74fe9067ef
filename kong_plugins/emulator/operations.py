"""The five Bedrock Runtime operations: validate (``prepare``), then answer (``execute``).

The split lets the HTTP layer inject faults between validation and generation, so a
throttled request neither counts against the prompt cache nor produces a reply.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, replace
from typing import Any

from . import (anthropic_format, cohere_embed, converse_format, embeddings, guardrails, images, jsonbody, latency,
               rerank, service_tiers, stability, titan)
from .anthropic_body import parse_anthropic_body
from .converse_body import check_request_metadata, parse_converse_body
from .structured import require_support
from .errors import MSG_NO_COUNT_TOKENS, BedrockError, malformed, validation
from .eventstream import chunk_frame, event_frame
from .generator import Reply, generate
from .guardrails import GuardrailCheck, Headers
from .models import ModelRef, resolve_model
from .prompt import Prompt, total_input_tokens
from .responses import JsonResponse, OperationResult, StreamResponse, with_headers
from .settings import TimingValues
from .state import EmulatorState

STREAM_HEADERS = {"X-Amzn-Bedrock-Content-Type": "application/json"}
MSG_NO_PROMPT_CACHING = "You invoked an unsupported model or your request did not allow prompt caching."


@dataclass
class Prepared:
    """A validated request, ready to be answered."""

    operation: str
    model: ModelRef
    prompt: Prompt
    body_kind: str  # "anthropic" | "titan" | "nova" | "converse" | "count" | "embedding" | "image" | "rerank"
    embedding: embeddings.EmbeddingOptions | cohere_embed.CohereOptions | None = None  # body_kind "embedding"
    image: images.ImageRequest | stability.StabilityRequest | None = None  # body_kind "image"
    rerank: rerank.RerankRequest | None = None  # body_kind "rerank"
    guardrail: GuardrailCheck | None = None  # assessed; set for body_kind "converse" and "anthropic" only
    service_tier: str | None = None  # the validated tier asked for; None for CountTokens (no tiers)
    latency: str | None = None  # the validated performanceConfig latency asked for; None: none asked


def _parse_json(body: bytes, operation: str) -> Any:
    try:
        return jsonbody.loads(body.decode("utf-8"))
    except jsonbody.Unreadable as error:
        if operation.startswith("invoke"):
            raise malformed(f"#: {error}") from None
        raise BedrockError(400, "SerializationException", f"The request body is invalid: {error}.") from None
    except (ValueError, UnicodeDecodeError):
        if operation.startswith("invoke"):
            raise malformed("#: the request body is not valid JSON") from None
        raise BedrockError(400, "SerializationException", "The request body is not valid JSON.") from None


def _invoke_prompt(model: ModelRef, body: Any) -> tuple[Prompt, str]:
    family = model.info.family
    if family == "claude":
        prompt = parse_anthropic_body(body, model.info.supports_adaptive_thinking, model.info.supports_effort)
        require_support(model.info, prompt.output_schema, prompt.strict_tools)
        return prompt, "anthropic"
    if family == "titan":
        return titan.parse_titan_body(body), "titan"
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k != "schemaVersion"}
    return parse_converse_body(body, model.info, invoke_style=True), "nova"


def _count_tokens_prompt(model: ModelRef, body: Any) -> Prompt:
    if not model.info.supports_count_tokens:
        raise validation(MSG_NO_COUNT_TOKENS)
    source = body.get("input") if isinstance(body, dict) else None
    if not isinstance(source, dict) or len(source) != 1 or next(iter(source)) not in ("invokeModel", "converse"):
        raise validation("The input field must contain exactly one of: invokeModel, converse.")
    if "converse" in source:
        return parse_converse_body(source["converse"], model.info)
    encoded = source["invokeModel"].get("body") if isinstance(source["invokeModel"], dict) else None
    try:
        raw = base64.b64decode(encoded or "", validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise validation("input.invokeModel.body must be base64-encoded.") from None
    return parse_anthropic_body(_parse_json(raw, "invoke"), model.info.supports_adaptive_thinking,
                                model.info.supports_effort)


def prepare(operation: str, model_id: str, body: bytes, headers: Headers | None = None) -> Prepared:
    """Resolve the model and validate the body (and the guardrail it names); raises BedrockError like Bedrock.

    InvokeModel's guardrail headers are validated for every model, but only Claude's Anthropic body
    is assessed: Titan, Nova, embedding, image and rerank bodies ignore the guardrail (the emulator's
    simplification).
    Converse applies it whatever the model. CountTokens takes no guardrail and no service tier.
    """
    model = resolve_model(model_id, allow_on_demand=operation == "count-tokens")
    invoke_only = model.info.is_embedding or model.info.is_image or model.info.is_rerank  # neither chats nor streams
    if invoke_only and operation == "invoke-with-response-stream":  # refused before the body is read
        raise validation(embeddings.MSG_NO_STREAMING)
    offered = model.info.service_tiers
    tier = service_tiers.from_header(headers, offered) if operation in service_tiers.INVOKE_OPERATIONS else None
    if operation in service_tiers.INVOKE_OPERATIONS:
        _check_metadata_header(headers)
    parsed = _parse_json(body, operation)
    if operation == "count-tokens":
        return Prepared(operation, model, _count_tokens_prompt(model, parsed), "count")
    asked = latency.from_converse(parsed) if operation in service_tiers.CONVERSE_OPERATIONS else \
        latency.from_header(headers)
    return replace(_prepare(operation, model, parsed, headers, tier), latency=asked)


def _prepare(operation: str, model: ModelRef, parsed: Any, headers: Headers | None, tier: str | None) -> Prepared:
    """`prepare` for the operations that answer a prompt (all but CountTokens)."""
    invoke_only = model.info.is_embedding or model.info.is_image or model.info.is_rerank
    offered = model.info.service_tiers
    if operation in ("converse", "converse-stream"):
        if invoke_only:
            raise validation(embeddings.MSG_NOT_A_CHAT_MODEL)
        tier = service_tiers.from_converse(parsed, offered)
        guardrail = guardrails.from_converse(parsed, streaming=operation == "converse-stream")
        prompt = _cacheable(parse_converse_body(parsed, model.info), model)
        return Prepared(operation, model, prompt, "converse", guardrail=_assess(guardrail, prompt),
                        service_tier=tier)
    guardrail = guardrails.from_headers(headers)
    if model.info.is_image:
        prompt, image = stability.parse_stability_body(parsed, model.info.base_id) \
            if model.info.family == stability.FAMILY else images.parse_image_body(parsed, model.info.base_id)
        return Prepared(operation, model, prompt, "image", image=image, service_tier=tier)
    if model.info.is_rerank:
        prompt, ranking = rerank.parse_rerank_body(parsed, model.info.base_id)
        return Prepared(operation, model, prompt, "rerank", rerank=ranking, service_tier=tier)
    if invoke_only:
        prompt, options = cohere_embed.parse_cohere_body(parsed, model.info.base_id) \
            if model.info.family == "cohere-embed" else embeddings.parse_embedding_body(parsed)
        return Prepared(operation, model, prompt, "embedding", options, service_tier=tier)
    prompt, kind = _invoke_prompt(model, parsed)
    prompt = _cacheable(prompt, model)
    return Prepared(operation, model, prompt, kind, guardrail=_assess(guardrail, prompt) if kind == "anthropic"
                    else None, service_tier=tier)


def _cacheable(prompt: Prompt, model: ModelRef) -> Prompt:
    """Bedrock refuses a cache point on a model without prompt caching (Claude 3, 3.5 Sonnet v1, Titan)."""
    if not model.info.supports_prompt_caching and any(segment.breakpoint for segment in prompt.segments):
        raise validation(MSG_NO_PROMPT_CACHING)
    return prompt


METADATA_HEADER = "X-Amzn-Bedrock-Request-Metadata"
MSG_METADATA_HEADER = f"{METADATA_HEADER} must be a JSON object of string keys and string values"  # our wording


def _check_metadata_header(headers: Headers | None) -> None:
    """InvokeModel's request metadata: a header holding a JSON object, with Converse's requestMetadata rules."""
    value = headers.get(METADATA_HEADER) if headers is not None else None
    if value is None:
        return
    try:
        metadata = jsonbody.loads(value)
    except ValueError:
        raise validation(MSG_METADATA_HEADER) from None
    if not isinstance(metadata, dict):
        raise validation(MSG_METADATA_HEADER)
    check_request_metadata(metadata)


def _assess(guardrail: GuardrailCheck | None, prompt: Prompt) -> GuardrailCheck | None:
    """Only the last user turn's own text: tool results and the system prompt are not assessed."""
    return guardrail.assess(prompt.last_user.text) if guardrail is not None else None


def _chunk(payload: dict[str, Any], corrupt: bool) -> bytes:
    return chunk_frame(payload, corrupt_crc=corrupt)


def _converse_event(payload: dict[str, Any], corrupt: bool) -> bytes:
    event_type, body = converse_format.converse_framer_payload(payload)
    return event_frame(event_type, body, corrupt_crc=corrupt)


def _reply(prepared: Prepared, state: EmulatorState, timing: TimingValues) -> Reply:
    """The model's reply, or the guardrail's answer when it blocked the input (the model never runs then)."""
    guardrail = prepared.guardrail
    if guardrail is not None and guardrail.intervened:
        return guardrail.blocked_reply("guardrail_intervened" if prepared.body_kind == "converse" else "end_turn")
    usage = state.cache.account(prepared.model.info.base_id, prepared.prompt.segments)
    return generate(prepared.prompt, timing.output_tokens, usage)


def served_tier(prepared: Prepared, timing: TimingValues) -> str | None:
    """The tier that serves the request (the ``served_tier`` setting overrides the one asked for)."""
    return service_tiers.served(prepared.service_tier, timing.served_tier)


def extra_latency_ms(prepared: Prepared, timing: TimingValues) -> float:
    """Latency on top of ``latency_ms`` for this request: ``flex_latency_ms`` when Flex serves it."""
    return service_tiers.extra_latency_ms(served_tier(prepared, timing), timing.flex_latency_ms)


def execute(prepared: Prepared, state: EmulatorState, timing: TimingValues) -> OperationResult:
    """Account the prompt cache, generate the reply, shape it for the operation and echo the served tier.

    Counting, embedding, images and rerank have no reply and never touch the (chat models') prompt cache;
    neither does a request whose input a guardrail blocked.
    """
    tier = served_tier(prepared, timing)
    result = _execute(prepared, state, timing, tier)
    if tier is None or prepared.operation not in service_tiers.INVOKE_OPERATIONS:
        return result  # Converse echoes the tier and latency in its body; CountTokens has neither
    if prepared.latency is not None:
        result = with_headers(result, {latency.LATENCY_HEADER: prepared.latency})
    return service_tiers.with_header(result, tier)


def _execute(prepared: Prepared, state: EmulatorState, timing: TimingValues, tier: str | None) -> OperationResult:
    prompt, op, kind, guardrail = prepared.prompt, prepared.operation, prepared.body_kind, prepared.guardrail
    if kind == "count":
        return JsonResponse({"inputTokens": total_input_tokens(prompt.segments)})
    if isinstance(prepared.image, stability.StabilityRequest):
        request = prepared.image
        return JsonResponse(lambda clock: stability.response_json(request), images.latency_headers)
    if prepared.image is not None:
        image = prepared.image
        return JsonResponse(lambda clock: images.response_json(image), images.latency_headers)
    if prepared.rerank is not None:
        return JsonResponse(rerank.response_json(prepared.rerank), images.latency_headers)
    if isinstance(prepared.embedding, cohere_embed.CohereOptions):
        options = prepared.embedding
        return JsonResponse(cohere_embed.response_json(options), embeddings.usage_headers(options.input_tokens))
    if prepared.embedding is not None:
        return JsonResponse(embeddings.response_json(prompt, prepared.embedding),
                            embeddings.usage_headers(total_input_tokens(prompt.segments)))
    reply = _reply(prepared, state, timing)
    streaming = op in ("invoke-with-response-stream", "converse-stream")
    answer = None if guardrail is not None and guardrail.intervened else \
        "".join(b.text for b in reply.blocks if b.kind == "text")
    if guardrail is not None and answer is not None:
        guardrail = guardrail.assess_output(answer)
        if guardrail.blocked_output_topics:
            reply = guardrail.blocked_output_reply(reply, "guardrail_intervened" if kind == "converse" else "end_turn")
    if kind == "converse":
        trace = guardrail.converse_trace(answer) if guardrail is not None else None
        echo, echoed = service_tiers.echo(tier or service_tiers.DEFAULT_TIER), latency.echo(prepared.latency)
        if streaming:
            return StreamResponse(converse_format.stream_events(reply, trace, echo, echoed), _converse_event)
        return JsonResponse(lambda clock: converse_format.response_json(reply, clock, trace, echo, echoed))

    def headers(clock: Any) -> dict[str, str]:
        return anthropic_format.usage_headers(reply, clock)

    if kind == "anthropic":
        name, message_id = prepared.model.info.anthropic_name, anthropic_format.new_message_id()
        extra = guardrail.invoke_fields(answer) if guardrail is not None else None
        if streaming:
            start_tokens = 0 if guardrail is not None and guardrail.intervened else 1
            events = anthropic_format.stream_events(reply, name, message_id, extra, start_tokens)
            return StreamResponse(events, _chunk, STREAM_HEADERS)
        return JsonResponse(anthropic_format.message_json(reply, name, message_id, extra), headers)
    if kind == "titan":
        if streaming:
            return StreamResponse(titan.stream_events(reply), _chunk, STREAM_HEADERS)
        return JsonResponse(titan.response_json(reply), headers)
    if streaming:
        return StreamResponse(converse_format.nova_stream_events(reply), _chunk, STREAM_HEADERS)
    return JsonResponse(converse_format.nova_response_json(reply), headers)
