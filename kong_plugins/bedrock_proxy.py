"""Kong plugin `bedrock-proxy`: decide the model, authorise it, hand the call to the relay.

Thin PDK wiring only; the decisions are pure functions in `kong_plugins.policy`,
`kong_plugins.formats` and `kong_plugins.relay.call`. PDK round trips in
access: get_var (context key), plus consumer, body and path when this is the
first of our plugins on the route (ecommerce-guardrails usually is), the
method under /v1/responses/ and /v1/conversations only (the routes that take more than POST), and
the query string of the listing routes (models, inference profiles) and of a GET under
/v1/responses/ (retrieve's `stream`, input_items' paging) or /v1/conversations (items' paging) only.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any, Callable
from urllib.parse import unquote

from kong_plugins import metrics
from kong_plugins.bedrock import request_metadata
from kong_plugins.context import RequestContext, store
from kong_plugins.conversation_objects import CONVERSATIONS_PATH, ConversationObjects
from kong_plugins.eventlog import log_event
from kong_plugins.formats import anthropic, prompt_cache, rerank
from kong_plugins.formats import image_models, openai_conversations
from kong_plugins.formats.api import IMAGE_EDITS_PATH, IMAGE_VARIATIONS_PATH, RERANK_PATHS, ApiFormat, token_count
from kong_plugins.formats.chat_request import ChatRequest, parse_chat
from kong_plugins.formats.openai_responses import ConversationTurn
from kong_plugins.formats.body import RequestError, load_json_object
from kong_plugins.formats.errors import ErrorKind, Reply, render_error
from kong_plugins.kong_request import bedrock_headers, guarded, request_context, request_path, respond
from kong_plugins.metering import budget_status
from kong_plugins.metering.estimate import estimate_input_tokens, native_estimate
from kong_plugins.model_routes import EMBEDDINGS_PATH, IMAGES_PATH, KIND_ROUTES, ModelRoutes
from kong_plugins.policy.catalogue import GUARDED_KINDS, UNJUDGED_KINDS, Catalogue, CatalogueEntry
from kong_plugins.policy import guardrail_access, model_list, service_tier
from kong_plugins.policy.listings import foundation_models, inference_profile, inference_profiles
from kong_plugins.policy.service_tier import TierRefusal
from kong_plugins.relay import background, conversation_store, guardrail_apply, item_store
from kong_plugins.response_objects import RESPONSE_OBJECT_PATH, ResponseObjects, owner
from kong_plugins.relay.call import (NATIVE_OPERATIONS, BodyPolicy, plan_call, plan_count, plan_openai_compatible,
                                    plan_passthrough, under_one_id, native_fallbacks, native_refusal)
from kong_plugins.schemas import BEDROCK_PROXY_SCHEMA, DEFAULT_STREAM_PING_SECONDS

NAME = "bedrock-proxy"
version = "0.1.0"
priority = -1002   # after ecommerce-guardrails (-1001), before token-meter (-1003), which reserves what is planned here
Schema = BEDROCK_PROXY_SCHEMA

ESTIMATE_HEADER = "X-Token-Count-Estimate"
"""Set on count_tokens answers computed locally (the model has no Bedrock CountTokens)."""
COUNTING_KINDS = frozenset({"claude", "mantle"})
"""Catalogue kinds Bedrock can count tokens for (CountTokens, Mantle's count_tokens)."""
RESPONSES_PATH = "/v1/responses"
INPUT_TOKENS_PATH = RESPONSES_PATH + "/input_tokens"
"""OpenAI's count of a Responses request's input tokens (the SDKs' responses.input_tokens.count)."""
PROFILES_PATH = "/inference-profiles"
"""Bedrock's ListInferenceProfiles, and GetInferenceProfile under it; the only other path whose query is read."""
MODELS_PATH = "/foundation-models"
_PARSERS = {"/v1/messages": ApiFormat.ANTHROPIC, "/v1/chat/completions": ApiFormat.OPENAI,
            RESPONSES_PATH: ApiFormat.OPENAI}


class Plugin(ModelRoutes, ResponseObjects, ConversationObjects):
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.catalogue = Catalogue.from_config(config)
        metrics.declare_models(self.catalogue.model_names)
        for conflict in self.catalogue.conflicts:
            log_event("catalogue_conflict", "error", plugin=NAME, conflict=conflict)
        for role, model in self.catalogue.unusable_profiles:
            log_event("inference_profile_unused", "error", plugin=NAME, role=role, model=model,
                      reason="an application inference profile serves only catalogue models of kind claude, "
                             "converse, embedding or image")
        self.region = config.get("region") or "us-east-1"
        self.role_tag_prefix = config.get("role_tag_prefix") or "role:"
        self.default_role = config.get("default_role") or "other"
        self.default_max_tokens = int(config.get("default_max_tokens") or 4096)
        self.openai_prompt_caching = config.get("openai_prompt_caching") is not False
        self.omit_hosted_tools = config.get("openai_hosted_tools") != "reject"
        self.item_store = item_store.from_config(config.get("openai_response_store"))
        self.turn_store = self.item_store if (config.get("openai_response_store") or {}).get("keep_inputs") else None
        self.request_metadata = config.get("bedrock_request_metadata") is not False
        ping = config.get("stream_ping_seconds")
        self.stream_ping_seconds = DEFAULT_STREAM_PING_SECONDS if ping is None else float(ping)
        self.required_signoffs = frozenset(config.get("required_signoffs") or ()) | {NAME}
        self.body_policy = BodyPolicy(fields=_frozen(config.get("bedrock_anthropic_fields")),
                                      betas=_frozen(config.get("anthropic_beta_allowlist")))

    @guarded(NAME, "access")
    def access(self, kong: Any) -> None:
        ctx = request_context(kong)
        path = request_path(kong, ctx).rstrip("/")
        if model_list.model_path(path) is not None:   # one format per SDK (see policy.model_list)
            ctx.api = ApiFormat.ANTHROPIC if kong.request.get_header("anthropic-version") else ApiFormat.OPENAI
            if ctx.api is ApiFormat.ANTHROPIC:   # only Anthropic's list takes arguments
                ctx.query = kong.request.get_raw_query() or ""
        elif path == PROFILES_PATH:
            ctx.query = kong.request.get_raw_query() or ""
        elif path.startswith(RESPONSE_OBJECT_PATH) or path.startswith(CONVERSATIONS_PATH):
            ctx.method = kong.request.get_method() or ""
            if ctx.method == "GET":   # retrieve's ?stream=true (not served), input_items' and items' paging
                ctx.query = kong.request.get_raw_query() or ""
        elif path.startswith("/model/"):
            bedrock_headers(kong, ctx)
        decision = self.decide(ctx, path)
        if isinstance(decision, Reply):
            return respond(kong, decision, ctx)
        ctx.signoffs.add(NAME)
        if ctx.upstream is not None:
            ctx.required_signoffs = self.required_signoffs
            ctx.stream_ping_seconds = self.stream_ping_seconds
            store.arm(ctx)

    def decide(self, ctx: RequestContext, path: str) -> Reply | None:
        """Plan the Bedrock call onto `ctx.upstream`, or answer directly (pure, no PDK)."""
        ctx.role = (ctx.consumer.role(self.role_tag_prefix) if ctx.consumer else None) or self.default_role
        model_id = model_list.model_path(path)
        if model_id is not None:
            return self._models(ctx, model_id)
        if path == "/v1/messages/count_tokens":
            try:
                internal = anthropic.parse_count_request(ctx.body)
            except RequestError as exc:
                return render_error(ApiFormat.ANTHROPIC, ErrorKind.INVALID_REQUEST, str(exc), param=exc.param)
            return self._count_tokens(ApiFormat.ANTHROPIC, ctx, internal)
        if path == INPUT_TOKENS_PATH and ctx.method == "POST":
            return self._parsed(ApiFormat.OPENAI, ctx, lambda chat: self._count_tokens(ApiFormat.OPENAI, ctx,
                                                                                       chat.internal))
        if path == EMBEDDINGS_PATH:
            return self._embeddings(ctx)
        if path in (IMAGES_PATH, IMAGE_VARIATIONS_PATH, IMAGE_EDITS_PATH):
            return self._images(ctx, path)
        if path in RERANK_PATHS:
            return self._rerank(ctx, path)
        if path.startswith("/model/"):
            return self._bedrock_native(ctx, path)
        if path.startswith(guardrail_apply.PREFIX):
            return self._apply_guardrail(ctx, path)
        if path.startswith(RESPONSE_OBJECT_PATH):
            return self._response_object(ctx, path)
        if path == CONVERSATIONS_PATH or path.startswith(CONVERSATIONS_PATH + "/"):
            return self._conversations(ctx, path)
        if path in (PROFILES_PATH, MODELS_PATH) or path.startswith(PROFILES_PATH + "/"):
            return self._listing(ctx, path)
        if path == budget_status.PATH:   # token-meter's to answer: no model, nothing planned
            return None
        path_model = _path_model(path)
        api = ApiFormat.OPENAI if path_model is not None else _PARSERS.get(path)
        if api is None:
            return render_error(ctx.api or ApiFormat.OPENAI, ErrorKind.NOT_FOUND,
                                "This API is not served by the gateway yet.")
        return self._parsed(api, ctx, lambda chat: self._chat(api, ctx, chat), path_model=path_model,
                            responses_api=path == RESPONSES_PATH)

    def _parsed(self, api: ApiFormat, ctx: RequestContext, then: Callable[[ChatRequest], Reply | None], *,
                responses_api: bool = True, path_model: str | None = None) -> Reply | None:
        """Parse a chat request (a Responses one against the caller's kept items and turns), then go on with
        `then`; a bad request is the client's 400, an unreachable store a 503."""
        try:
            chat = parse_chat(api, ctx.body, self.default_max_tokens, responses_api=responses_api,
                              path_model=path_model, omit_hosted_tools=self.omit_hosted_tools,
                              stored_items=item_store.lookup(self.item_store, owner(ctx)) if responses_api else None,
                              conversation=item_store.conversation(self.turn_store, owner(ctx)) if responses_api
                              else None,
                              conversation_items=partial(conversation_store.items, self.turn_store, owner(ctx))
                              if responses_api and self.turn_store is not None else None)
            return then(chat)
        except RequestError as exc:
            return render_error(api, ErrorKind.INVALID_REQUEST, str(exc), param=exc.param)
        except item_store.ItemStoreError:
            return render_error(api, ErrorKind.UNAVAILABLE, "The gateway's response store is unreachable, so the "
                                "request's item references or previous_response_id cannot be resolved; retry, or "
                                "send the items themselves.")

    def _chat(self, api: ApiFormat, ctx: RequestContext, chat: ChatRequest) -> Reply | None:
        """Anthropic Messages, OpenAI Chat and Responses: one internal model, planned with its fallbacks."""
        internal = chat.internal
        entry = self._authorise(api, ctx, internal.get("model"))
        if isinstance(entry, Reply):
            return entry
        if entry.kind in KIND_ROUTES:
            what, route = KIND_ROUTES[entry.kind]
            return render_error(api, ErrorKind.INVALID_REQUEST, f"{entry.name} is {what} model: use {route}.",
                                param="model")
        role = self.catalogue.roles[ctx.role]
        unguarded = self._unguarded(api, ctx, entry)
        if unguarded is not None:
            return unguarded
        asked_tier = service_tier.openai_tier(chat.openai) if chat.openai is not None else \
            service_tier.anthropic_tier(internal)
        tier = service_tier.choose(asked_tier, role.tiers, entry.service_tiers, entry.name)
        if isinstance(tier, TierRefusal):
            return _tier_refused(api, tier)
        ctx.service_tier = tier
        if entry.kind == "openai-compatible":
            if chat.openai is None or chat.responses_api:
                return render_error(api, ErrorKind.INVALID_REQUEST, "This model is served through OpenAI "
                                    "Chat Completions only: use /v1/chat/completions.", param="model")
            ctx.upstream = plan_openai_compatible(chat.openai, entry, client_model=internal.get("model") or entry.name,
                                                  include_usage=chat.include_usage)   # `n` passes through
            return self._planned(ctx, entry, internal, chat.choices)
        candidates = [(entry, tier), *_tiered(self.catalogue.fallbacks_for(entry, role), asked_tier, tier)]
        if api is ApiFormat.OPENAI and self.openai_prompt_caching and entry.caches_prompts:
            prompt_cache.add_cache_points(internal)
        uncached = internal if all(e.caches_prompts for e, _ in candidates) else \
            prompt_cache.without_cache_points(internal)   # for the candidates Bedrock would refuse a cache point on
        client_model = entry.name if ctx.substituted_from else (internal.get("model") or entry.name)
        bodies: dict = {}
        caller = self._caller(ctx, chat.end_user)
        if caller is not None and chat.client_metadata:
            caller = request_metadata.merged(chat.client_metadata, caller, request_metadata.OPENAI_MEMBER)
        plan = []
        for e, t in candidates:
            try:
                named = client_model if e is entry else e.name   # a fallback's answer names the model that answered
                plan.append(plan_call(api, internal if e.caches_prompts else uncached, e, client_model=named,
                                      region=self.region, include_usage=chat.include_usage, policy=self.body_policy,
                                      bodies=bodies, tools=chat.tools, responses_api=chat.responses_api,
                                      guardrail=role.guardrail, tier=t, metadata=caller))
            except RequestError:
                if not plan:
                    raise   # the model asked for cannot take the request: the client's 400
                # a fallback that cannot take it (another API's limits) is left out of this request's chain
        ctx.upstream, *ctx.fallbacks = under_one_id(plan)
        if chat.choices > 1:   # OpenAI's `n`: every choice from one model, so no fallback
            ctx.upstream, ctx.fallbacks = replace(plan[0], choices=chat.choices), []
        ctx.omitted_tools, ctx.response_echo = chat.omitted_tools, chat.echo
        ctx.keep_items = self._keeper(ctx, chat)
        if chat.background:   # parse_chat refused it without a store
            ctx.background = background.Keeping(self.item_store, owner(ctx))
        return self._planned(ctx, entry, internal, chat.choices)

    def _keeper(self, ctx: RequestContext, chat: ChatRequest) -> Callable[..., bool] | None:
        """What keeps a finished Response: its items (`store`), and its input and output in the Conversation it
        continues; the Conversation not when `while_status` refused the items (relay.background)."""
        keep = partial(item_store.keep, self.item_store, owner(ctx), chat.turn) \
            if chat.store and self.item_store is not None else None
        if chat.conversation is None:
            return keep
        joins = partial(_join_conversation, self.turn_store, owner(ctx), chat.conversation)

        def keep_and_join(response: dict, while_status: frozenset[str] | None = None) -> bool:
            if keep is not None and not keep(response, while_status=while_status):
                return False
            joins(response)
            return True
        return keep_and_join

    @staticmethod
    def _planned(ctx: RequestContext, entry: CatalogueEntry, internal: dict[str, Any], calls: int = 1) -> None:
        """Once a call is planned: the model that answers, and what token-meter reserves for it (`calls`: OpenAI's
        `n`, each choice a call reading the prompt and writing up to max_tokens)."""
        ctx.model = entry.name
        ctx.planned_input, ctx.planned_output = estimate_input_tokens(internal), int(internal["max_tokens"])
        ctx.planned_calls = calls
        ctx.prompt = internal

    def _authorise(self, api: ApiFormat, ctx: RequestContext, requested: str | None) -> CatalogueEntry | Reply:
        """The catalogue entry the role may use for `requested` (or its default)."""
        policy = self.catalogue.roles.get(ctx.role or "")
        if policy is None:
            return render_error(api, ErrorKind.PERMISSION, "Your API key has no model access on this gateway.")
        entry = self.catalogue.resolve(requested or policy.default_model, policy)
        if entry is None:
            return render_error(api, ErrorKind.MODEL_NOT_FOUND,
                                "The requested model is not in the gateway's catalogue.", param="model")
        if not policy.allows(entry) and policy.substitute_default:
            ctx.substituted_from = entry.name   # the catalogue's name, never the client's string, goes in a header
            entry = self.catalogue.resolve(policy.default_model) or entry
        if not policy.allows(entry):
            allowed = ", ".join(self.catalogue.allowed_names(policy))
            return render_error(api, ErrorKind.MODEL_NOT_ALLOWED, f"Your role may use these models: {allowed}.",
                                param="model")
        return self.catalogue.for_role(entry, policy)

    def _caller(self, ctx: RequestContext, end_user: str | None = None) -> dict[str, str] | None:
        """Who is calling, for Bedrock's model invocation logs (bedrock_request_metadata)."""
        if not self.request_metadata:
            return None
        return request_metadata.gateway_pairs(ctx.request_id, ctx.consumer.id if ctx.consumer else None, ctx.role,
                                              end_user, ctx.client_session, ctx.client_agent)

    def _native_metadata(self, ctx: RequestContext, operation: str, body: dict[str, Any]) -> dict[str, str] | None:
        """A native call's pairs: the client's own (Converse's body member, InvokeModel's header) and ours.

        None when the gateway adds none (the client's own then go to Bedrock unchanged). Raises RequestError.
        """
        caller = self._caller(ctx)
        if caller is None or operation == "count-tokens":
            return None
        if operation.startswith("converse"):
            return request_metadata.merged(body.get(request_metadata.MEMBER), caller)
        return request_metadata.merged(request_metadata.client_header_pairs(ctx.metadata_header), caller,
                                       request_metadata.INVOKE_HEADER)

    def _listing(self, ctx: RequestContext, path: str) -> Reply:
        """Bedrock control-plane reads (listings.py), from the catalogue as the caller's role calls it."""
        api = ApiFormat.BEDROCK
        role = self.catalogue.roles.get(ctx.role or "")
        entries = [self.catalogue.for_role(e, role) for e in self.catalogue.allowed_entries(role)] if role else []
        if path == MODELS_PATH:
            return Reply(200, foundation_models(entries, self.region), {})
        if path == PROFILES_PATH:
            try:
                return Reply(200, inference_profiles(entries, self.region, ctx.query), {})
            except ValueError as exc:
                return render_error(api, ErrorKind.INVALID_REQUEST, str(exc))
        profile = inference_profile(entries, self.region, unquote(path[len(PROFILES_PATH) + 1:]))
        if profile is None:
            return render_error(api, ErrorKind.NOT_FOUND, "No inference profile with this identifier is available "
                                "to your API key.")
        return Reply(200, profile, {})

    def _unguarded(self, api: ApiFormat, ctx: RequestContext, entry: CatalogueEntry) -> Reply | None:
        """The 403 for a role whose calls must go through a Bedrock guardrail the model cannot apply (and whose
        answers are content: see UNJUDGED_KINDS)."""
        if self.catalogue.roles[ctx.role or ""].guardrail is None or entry.kind in GUARDED_KINDS | UNJUDGED_KINDS:
            return None
        return render_error(api, ErrorKind.MODEL_NOT_ALLOWED, "Your role's requests go through a Bedrock guardrail, "
                            f"which {entry.name} cannot apply; models that can: {self._usable(ctx, GUARDED_KINDS)}.",
                            param="model")

    def _usable(self, ctx: RequestContext, kinds: frozenset[str]) -> str:
        """The models of these kinds the caller's role may use, for an error message ("none" if none)."""
        names = [e.name for e in self.catalogue.allowed_entries(self.catalogue.roles.get(ctx.role or ""))
                 if e.kind in kinds]
        return ", ".join(names) or "none"

    def _bedrock_native(self, ctx: RequestContext, path: str) -> Reply | None:
        """`/model/{id}/{operation}`: the id is one segment, still percent-encoded (get_path keeps %3A, %2F)."""
        api = ApiFormat.BEDROCK
        parts = path.split("/")
        if len(parts) != 4 or parts[3] not in NATIVE_OPERATIONS:
            return render_error(api, ErrorKind.NOT_FOUND, "Unknown Bedrock Runtime operation.")
        operation = parts[3]
        try:
            body = load_json_object(ctx.body)
            asked = None if operation == "count-tokens" else \
                service_tier.native_tier(ctx.tier_header, body, converse=operation.startswith("converse"))
            metadata = self._native_metadata(ctx, operation, body)
        except RequestError as exc:
            return render_error(api, ErrorKind.INVALID_REQUEST, str(exc))
        entry = self._authorise(api, ctx, unquote(parts[2]))
        if isinstance(entry, Reply):
            return entry
        if (refusal := native_refusal(entry, operation)) is not None:
            return render_error(api, ErrorKind.INVALID_REQUEST, refusal)
        ctx.model = entry.name
        role = self.catalogue.roles[ctx.role]
        tier = service_tier.DEFAULT if operation == "count-tokens" else \
            service_tier.choose(asked, role.tiers, entry.service_tiers, entry.name)
        if isinstance(tier, TierRefusal):
            return _tier_refused(api, tier)
        ctx.service_tier = tier
        images = image_models.billed_by_body(body, entry.bedrock_id) if entry.kind == "image" else None
        reranking = rerank.billed_by_body(body) if entry.kind == "rerank" else None
        if entry.kind in KIND_ROUTES and (unguarded := self._unguarded(api, ctx, entry)) is not None:
            return unguarded
        guardrail = None if operation == "count-tokens" or entry.kind in KIND_ROUTES else role.guardrail
        plans = [plan_passthrough(operation, ctx.body or b"", e, region=self.region, guardrail=guardrail,
                                  tier=t, asked_tier=asked, metadata=metadata, images=images, rerank=reranking)
                 for e, t in [(entry, tier), *_tiered(native_fallbacks(entry, self.catalogue.fallbacks_for(entry, role),
                                                                      operation, body), asked, tier)]]
        ctx.upstream, ctx.fallbacks = plans[0], plans[1:]
        billed_apiece = images is not None or reranking is not None
        planned = native_estimate(body, entry.bedrock_id, operation)
        ctx.planned_input, ctx.planned_output = (0, 0) if billed_apiece else (planned.input, planned.output)
        ctx.output_cap_field = planned.cap_field
        ctx.prompt = None if billed_apiece else body
        return None

    def _apply_guardrail(self, ctx: RequestContext, path: str) -> Reply | None:
        """Bedrock's ApplyGuardrail (relay.guardrail_apply): a guardrail the role may apply (guardrail_access),
        billed by its text units; refusals in Bedrock's shape, token-meter's too (ctx.api)."""
        api = ctx.api = ApiFormat.BEDROCK
        role = self.catalogue.roles.get(ctx.role or "")
        try:
            found = guardrail_apply.target(path)
            if found is None:
                return render_error(api, ErrorKind.NOT_FOUND, "Unknown Bedrock Runtime operation.")
            if role is None:
                return render_error(api, ErrorKind.PERMISSION, "Your API key has no model access on this gateway.")
            if (refused := guardrail_access.refusal(role, found.identifier, found.version)) is not None:
                return render_error(api, ErrorKind.PERMISSION, refused)
            reserved = guardrail_apply.reserved_units(ctx.body)
        except RequestError as exc:
            return render_error(api, ErrorKind.INVALID_REQUEST, str(exc))
        ctx.upstream = guardrail_apply.plan(found, ctx.body or b"", region=self.region, reserved=reserved,
                                            gateway_guardrail=role.guardrail is not None)
        ctx.model, ctx.planned_input, ctx.planned_output = guardrail_apply.METERED_AS, 0, 0
        return None

    def _models(self, ctx: RequestContext, model_id: str) -> Reply:
        """The models the caller's role may use (or one of them), in its SDK's format."""
        api = ctx.api or ApiFormat.OPENAI
        policy = self.catalogue.roles.get(ctx.role or "")
        if not model_id:
            return model_list.list_models(api, self.catalogue.allowed_entries(policy), ctx.query)
        entry = self.catalogue.resolve(model_id)
        return model_list.get_model(api, entry, policy is not None and entry is not None and policy.allows(entry))

    def _count_tokens(self, api: ApiFormat, ctx: RequestContext, internal: dict[str, Any]) -> Reply | None:
        """Anthropic's count_tokens and OpenAI's responses/input_tokens: Bedrock CountTokens for Claude;
        elsewhere a local estimate, labelled as such."""
        entry = self._authorise(api, ctx, internal.get("model"))
        if isinstance(entry, Reply):
            return entry
        if entry.kind in KIND_ROUTES:
            return render_error(api, ErrorKind.INVALID_REQUEST, f"{entry.name} is {KIND_ROUTES[entry.kind][0]} model.",
                                param="model")
        ctx.model = entry.name
        if entry.kind not in COUNTING_KINDS:
            return Reply(200, token_count(api, estimate_input_tokens(internal)), {ESTIMATE_HEADER: "true"})
        ctx.upstream = plan_count(internal, entry, region=self.region, api=api, policy=self.body_policy)
        return None


def _tiered(fallbacks: list[CatalogueEntry], asked: str | None,
            tier: str) -> list[tuple[CatalogueEntry, str]]:
    """Fallbacks with the tier each runs on; those that cannot serve the tier the client asked for are left out."""
    tiered = ((e, service_tier.fallback_tier(asked, tier, e.service_tiers)) for e in fallbacks)
    return [(e, t) for e, t in tiered if t is not None]


def _tier_refused(api: ApiFormat, refusal: TierRefusal) -> Reply:
    kind = ErrorKind.PERMISSION if refusal.permission else ErrorKind.INVALID_REQUEST
    return render_error(api, kind, refusal.message, param="service_tier")


def _path_model(path: str) -> str | None:
    """Seed routes: `/v1/chat/{alias}` fixes the model, `/v1/chat` means the role's default ("")."""
    if path == "/v1/chat":
        return ""
    if path.startswith("/v1/chat/") and path != "/v1/chat/completions" and path.count("/") == 3:
        return path.rsplit("/", 1)[1]
    return None



def _frozen(values: Any) -> frozenset[str] | None:
    """A configured list as a set; an absent list means no filtering."""
    return frozenset(values) if isinstance(values, list) else None


def _join_conversation(store: Any, who: str, conversation: ConversationTurn, response: dict) -> None:
    """A finished Response's input and output, added to the Conversation it continued (a store failure is
    counted and logged; the response still goes out)."""
    try:
        conversation_store.append(store, who, conversation.id,
                                  [*openai_conversations.stamped(conversation.input), *response["output"]])
    except item_store.ItemStoreError:
        pass
