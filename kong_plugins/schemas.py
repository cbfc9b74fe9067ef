"""Config schemas of the three plugins, in Kong's field-definition format.

kong-pdk wraps each list as `{"name": <plugin>, "fields": [{"config": {"type":
"record", "fields": <list>}}]}` in the `--dump` output, and Kong validates every
plugin entity of kong.yaml against it (MetaSchema.MetaSubSchema), filling
defaults before it sends the config to StartInstance.
"""

from __future__ import annotations

from kong_plugins.metering.pricing import GUARDRAIL_UNIT_PRICES


def _string(**extra: object) -> dict:
    return {"type": "string", **extra}


def _integer(**extra: object) -> dict:
    return {"type": "integer", **extra}


def _boolean(**extra: object) -> dict:
    return {"type": "boolean", **extra}


def _number(**extra: object) -> dict:
    return {"type": "number", **extra}


def _strings(**extra: object) -> dict:
    return {"type": "array", "elements": {"type": "string"}, **extra}


DEFAULT_BEDROCK_BETAS = frozenset({
    "interleaved-thinking-2025-05-14", "context-1m-2025-08-07", "fine-grained-tool-streaming-2025-05-14",
    "token-efficient-tools-2025-02-19", "output-128k-2025-02-19", "computer-use-2025-01-24",
    "context-management-2025-06-27", "effort-2025-11-24", "tool-search-tool-2025-10-19",
})
"""Betas Bedrock accepts for Claude (others fail with 400 "invalid beta flag")."""
DEFAULT_BEDROCK_ANTHROPIC_FIELDS = frozenset({
    "anthropic_version", "anthropic_beta", "max_tokens", "messages", "system", "stop_sequences",
    "temperature", "top_p", "top_k", "tools", "tool_choice", "thinking", "metadata",
})
"""The InvokeModel fields Claude Code itself sends in Bedrock mode, plus the sampling parameters."""

DEFAULT_STREAM_PING_SECONDS = 5.0
"""Half the shortest idle timeout Claude Code takes (CLAUDE_BYTE_STREAM_IDLE_TIMEOUT_MS, 10 s at the least), far
under load balancers' 60 s; Anthropic's API pings every 10-15 s."""

_ROLE_PREFIX = {"role_tag_prefix": _string(required=True, default="role:",
                                           description="Consumer tags `<prefix><role>` name the consumer's role.")}
_DEFAULT_ROLE = {"default_role": _string(required=True, default="other",
                                         description="Role of a consumer without a role tag.")}

SERVICE_TIERS = ["default", "flex", "priority", "reserved"]
"""Bedrock's service tiers (`default` is Standard); policy.service_tier.TIERS."""
_TIER = {"type": "string", "one_of": SERVICE_TIERS}

_MODEL = {"type": "record", "fields": [
    {"name": _string(required=True, description="Catalogue name clients may send, e.g. `sonnet`.")},
    {"bedrock_id": _string(required=True, description="Bedrock model id or inference-profile id "
                                                      "(openai-compatible: the provider's model name).")},
    {"kind": _string(required=True, default="claude",
                     one_of=["claude", "converse", "mantle", "openai-compatible", "embedding", "image", "rerank"],
                     description="claude: InvokeModel with the Anthropic body; converse: Converse API; "
                                 "mantle: Bedrock Mantle's Anthropic Messages API (Opus 4.7 and later); "
                                 "openai-compatible: a non-Bedrock OpenAI Chat endpoint (base_url, api_key_env); "
                                 "embedding: Titan Text Embeddings V2 or Cohere Embed (by the id) for /v1/embeddings; "
                                 "image: Nova Canvas, Titan Image Generator v2 or a Stability model (by the id) for "
                                 "/v1/images/generations; "
                                 "rerank: Cohere Rerank 3.5 for /v1/rerank and /v2/rerank.")},
    {"base_url": _string(description="openai-compatible: the provider's OpenAI API base URL (ending /v1 or so).")},
    {"prompt_caching": _boolean(description="Whether Bedrock takes cache points for this model (unset: Claude 3.5 "
                                            "Sonnet v2, 3.5 Haiku and later do); decides where the id cannot tell, "
                                            "e.g. an application inference profile ARN.")},
    {"api_key_env": _string(description="openai-compatible: environment variable with the provider's API key "
                                        "(declare it in kong.conf's nginx_main_env).")},
    {"service_tiers": {"type": "array", "elements": _TIER,
                       "description": "Bedrock service tiers this model is served on (Standard always). Unset: "
                                      "default, flex and priority for claude and converse entries, Standard only "
                                      "for the other kinds. List reserved where you hold a reservation."}},
    {"region": _string(description="Bedrock region for this model; default: the plugin's `region`.")},
    {"aliases": _strings(required=True, default=[], description="Other names that resolve to this model. "
                         "Anthropic clients' model lists show the first starting with `claude` (Claude Code's "
                         "gateway model discovery keeps only such ids).")},
    {"display_name": _string(description="The model's label in model lists (Claude Code's /model picker). "
                                         "Unset: read off that Claude name (`Claude Sonnet 4.5`), else the name.")},
    {"fallbacks": _strings(required=True, default=[],
                           description="Catalogue names tried in order when this model stays throttled, "
                                       "is denied or unavailable (only those the caller's role may use).")},
]}

APPLICATION_PROFILE_ARN = "^arn:aws[%a-]*:bedrock:[%l%d-]+:%d+:application%-inference%-profile/[%l%d]+$"
"""Lua pattern (Kong's `match`) of an application inference profile's ARN."""
_PROFILE = {"type": "record", "fields": [
    {"model": _string(required=True, description="A catalogue name of kind claude, converse or embedding.")},
    {"arn": _string(required=True, match=APPLICATION_PROFILE_ARN,
                    description="The application inference profile's ARN (CreateInferenceProfile), copied from "
                                "that model's Bedrock id; the gateway's IAM role needs it granted too.")},
]}

_ROLE = {"type": "record", "fields": [
    {"name": _string(required=True)},
    {"allowed_models": _strings(required=True, description="Catalogue names, or `*` for all.")},
    {"default_model": _string(required=True, description="Used when a request names no model.")},
    {"substitute_default": _boolean(required=True, default=False,
                                    description="Serve the default model instead of 403 for a model the role may "
                                                "not use (response header X-Bedrock-Model-Substituted-From).")},
    {"bedrock_guardrail": {"type": "record", "required": False, "fields": [
        {"identifier": _string(required=True, description="Bedrock Guardrail id or ARN.")},
        {"version": _string(required=True, default="DRAFT", description="A version number, or DRAFT.")},
        {"trace": _boolean(required=True, default=False,
                           description="Show clients Bedrock's guardrail assessment (the trace). The gateway asks "
                                       "for it on OpenAI and Anthropic clients' calls anyway, to price the "
                                       "guardrail's text units, and takes it out of what those clients get unless "
                                       "this is true; Bedrock-native clients' calls carry this setting as it is.")},
    ], "description": "Every text-generation call of the role goes through this Amazon Bedrock Guardrail "
                      "(Converse guardrailConfig, InvokeModel guardrail headers); models whose API cannot "
                      "carry it (mantle, openai-compatible) are refused for the role."}},
    {"service_tiers": {"type": "record", "required": False, "fields": [
        {"default": {**_TIER, "required": True, "default": "default",
                     "description": "The tier the role's calls run on when the client names none (Standard "
                                    "where the model does not offer it)."}},
        {"allowed": {"type": "array", "elements": _TIER, "required": True, "default": ["default", "flex"],
                     "description": "Tiers the role's clients may ask for (OpenAI/Anthropic service_tier, "
                                    "X-Amzn-Bedrock-Service-Tier, Converse serviceTier); others are a 403."}},
    ], "description": "Amazon Bedrock service tiers: Priority costs more, Flex less (token-meter prices "
                      "them with service_tier_price_factors)."}},
    {"inference_profiles": {"type": "array", "required": True, "default": [], "elements": _PROFILE,
                            "description": "The role's calls of these models go through its application "
                                           "inference profiles, so AWS bills them to the profiles' cost "
                                           "allocation tags (fallbacks too, each through its own)."}},
]}

_REDIS = {"type": "record", "required": True, "fields": [
    {"host": _string(default="127.0.0.1")},
    {"port": _integer(default=6379, between=[1, 65535])},
    {"username": _string()},
    {"password": _string(referenceable=True, description="Use a vault reference, e.g. {vault://env/redis-pass}.")},
    {"database": _integer(default=0, between=[0, 1024])},
    {"ssl": _boolean(default=False)},
    {"timeout_ms": _integer(default=200, between=[1, 60000])},
    {"down_ms": _integer(default=2000, between=[0, 600000],
                         description="After a Redis call fails, how long every call fails at once without touching "
                                     "the network (0: try Redis every time); on a cluster, node by node.")},
    {"cluster": _boolean(required=True, default=False,   # required: Kong's check of an explicit null passes
                         description="A Redis Cluster (ElastiCache with cluster mode on): host and port name one "
                                     "node or the configuration endpoint. Keys then carry hash tags, so budgets "
                                     "and items kept without it are not seen; database must be 0.")},
    {"cluster_nodes": {"type": "array", "elements": {"type": "record", "fields": [
        {"ip": _string(required=True)}, {"port": _integer(default=6379, between=[1, 65535])}]},
        "description": "With cluster: more nodes to learn the cluster from, as Kong Enterprise names them, "
                       "should the one in host and port be down when the plugin server starts."}},
], "entity_checks": [
    {"conditional": {"if_field": "cluster", "if_match": {"eq": True}, "then_field": "database",
                     "then_match": {"eq": 0}}},
    {"conditional": {"if_field": "cluster", "if_match": {"eq": False}, "then_field": "cluster_nodes",
                     "then_match": {"len_eq": 0}}},
]}

BEDROCK_PROXY_SCHEMA = [
    {"region": _string(required=True, default="us-east-1")},
    _ROLE_PREFIX,
    _DEFAULT_ROLE,
    {"models": {"type": "array", "required": True, "default": [], "elements": _MODEL}},
    {"roles": {"type": "array", "required": True, "default": [], "elements": _ROLE}},
    {"required_signoffs": _strings(
        required=True, default=["ecommerce-guardrails", "token-meter"],
        description="Plugins that must have approved a request before the relay calls Bedrock. Kong 3.6.1 "
                    "skips a plugin whose RPC fails (fails open); the relay then refuses (fails closed).")},
    {"resolve_unknown_claude_names": _boolean(required=True, default=True,
                                              description="An unknown Claude name (e.g. claude-opus-4-8) is served "
                                                          "by the catalogue entry named after its family.")},
    {"anthropic_beta_allowlist": _strings(
        required=True, default=sorted(DEFAULT_BEDROCK_BETAS),
        description="Beta names passed to Bedrock from the anthropic-beta header or body; others are dropped.")},
    {"bedrock_anthropic_fields": _strings(
        required=True, default=sorted(DEFAULT_BEDROCK_ANTHROPIC_FIELDS),
        description="Top-level Anthropic body fields sent to InvokeModel; Bedrock rejects other keys, so they "
                    "are dropped (their names are logged at debug level).")},
    {"stream_ping_seconds": _number(required=True, default=DEFAULT_STREAM_PING_SECONDS, between=[0, 300],
                                    description="A streamed answer sends the client a keep-alive after this many "
                                                "seconds in which Bedrock sent nothing (extended thinking), so "
                                                "idle timeouts on the way (Claude Code's, 10 s at the least; "
                                                "load balancers') do not cut it: Anthropic's `ping` event, an "
                                                "SSE comment for OpenAI clients, nothing on Bedrock-native "
                                                "streams. 0: none.")},
    {"default_max_tokens": _integer(required=True, default=4096, between=[1, 1_000_000],
                                    description="max_tokens for OpenAI requests that set none.")},
    {"bedrock_request_metadata": _boolean(required=True, default=True,
                                          description="Bedrock calls carry request metadata naming the Kong "
                                                      "request id, consumer id and role (Converse requestMetadata, "
                                                      "InvokeModel's X-Amzn-Bedrock-Request-Metadata header), "
                                                      "which Bedrock's model invocation logs keep and filter on "
                                                      "(every call is signed by the gateway's one role).")},
    {"openai_prompt_caching": _boolean(required=True, default=True,
                                       description="OpenAI-format requests to Claude get Bedrock cache points "
                                                   "after the system prompt and, in an ongoing conversation, after "
                                                   "the last message (OpenAI's formats cannot ask for them).")},
    {"openai_hosted_tools": _string(required=True, default="omit", one_of=["omit", "reject"],
                                    description="A Responses request's hosted OpenAI tools (web_search, file_search, "
                                                "code_interpreter, image_generation, remote mcp...), which Bedrock "
                                                "cannot run: omit (the call goes on without them and the answer's "
                                                "X-Bedrock-Omitted-Tools header names them; Codex sends web_search "
                                                "every turn) or reject (a 400).")},
    {"openai_response_store": {"type": "record", "required": True, "fields": [
        {"storage": _string(required=True, default="memory", one_of=["memory", "redis", "off"],
                            description="memory: per plugin-server process (one Kong pod; with more pods use "
                                        "redis); off: nothing kept, an item_reference is a 400.")},
        {"ttl_seconds": _integer(required=True, default=86400, between=[60, 2_592_000])},
        {"memory_mb": _integer(required=True, default=32, between=[1, 4096],
                               description="memory: the most item JSON kept; past it, the oldest items of the "
                                           "consumer holding the most go first.")},
        {"keep_inputs": _boolean(required=True, default=False,
                                 description="Also keep each such call's input items (what the guardrails let "
                                             "through), so the consumer's next call can continue it with "
                                             "previous_response_id and list it with input_items, and serve "
                                             "OpenAI Conversations. Off: model output only, never a prompt; "
                                             "previous_response_id and conversation are a 400, input_items and "
                                             "/v1/conversations a 404.")},
        {"redis": _REDIS},
    ], "description": "Output items of Responses API calls made with store (OpenAI's default), kept for the "
                      "consumer that got them so its next call can send them as item_reference, as the Vercel AI "
                      "SDK does. Model output only, never a prompt, unless keep_inputs is on."}},
]

_LIMIT_FIELDS = [
    {"tokens_per_minute": _integer(between=[1, 1_000_000_000], description="null: unlimited.")},
    {"tokens_per_day": _integer(between=[1, 1_000_000_000_000], description="null: unlimited.")},
    {"monthly_budget_usd": _number(between=[0, 10_000_000], description="Per consumer per calendar month (UTC); "
                                                                        "null: unlimited.")},
]
_LIMIT = {"type": "record", "fields": [
    {"role": _string(required=True)},
    *_LIMIT_FIELDS,
    {"reserve_output_cap": _integer(between=[1, 1_000_000],
                                    description="Reserve at most this many output tokens up front instead of the "
                                                "request's max_tokens (the rest is charged at settle time).")},
    {"forecast_cache_reads": _boolean(default=False,
                                      description="Reserve the part of a prompt Bedrock most likely reads from its "
                                                  "prompt cache (a prefix an earlier call cached, within its TTL) "
                                                  "as a cache read, not as fresh input.")},
]}
_OVERRIDE = {"type": "record", "fields": [
    {"consumer": _string(required=True, description="Consumer username or id.")},
    *_LIMIT_FIELDS,
]}
_IMAGE_PRICE = {"type": "record", "fields": [
    {"quality": _string(required=True, one_of=["standard", "premium"])},
    {"max_pixels": _integer(required=True, between=[1, 100_000_000],
                            description="Width x height this price goes up to, e.g. 1048576 for 1024x1024.")},
    {"usd": _number(required=True, between=[0, 1000], description="USD per image.")},
]}
_PER_MILLION = [0, 100_000]   # a negative price would credit budgets instead of charging them
_PRICE = {"type": "record", "fields": [
    {"model": _string(required=True, description="Catalogue name (bedrock-proxy's models), or `default`.")},
    {"input": _number(required=True, between=_PER_MILLION, description="USD per 1M uncached input tokens.")},
    {"output": _number(required=True, between=_PER_MILLION, description="USD per 1M output tokens.")},
    {"cache_read": _number(between=_PER_MILLION, description="USD per 1M cache-read tokens (default 0.1 x input).")},
    {"cache_write": _number(between=_PER_MILLION,
                            description="USD per 1M cache-write tokens (default 1.25 x input).")},
    {"cache_write_1h": _number(between=_PER_MILLION, description="USD per 1M tokens written to the 1-hour cache "
                                                                 "(default 1.6 x cache_write, which is 2 x input).")},
    {"images": {"type": "array", "elements": _IMAGE_PRICE,
                "description": "An image model's USD per image by quality and size (unset: the shipped prices of "
                               "nova-canvas, titan-image, stable-image-core, sd3-5-large and stable-image-ultra); "
                               "an image larger than every tier costs the largest."}},
    {"search_unit": _number(between=[0, 1000], description="A reranker's USD per search unit: one query over up to "
                                                          "100 documents (unset: cohere-rerank's shipped $0.002).")},
    {"long_context": {"type": "record", "fields": [
        {"above_prompt_tokens": _integer(between=[1, 100_000_000], description="One call's prompt (input, cache "
                                                                               "reads and writes) past this many "
                                                                               "tokens bills the whole call at:")},
        {"input_factor": _number(between=[0, 100], description="input and cache prices times this (default 2)")},
        {"output_factor": _number(between=[0, 100], description="output price times this (default 1.5)")},
    ], "description": "Long-context rates (unset: the shipped model's; sonnet: past 200,000 tokens, 2x and 1.5x)."}},
]}
_CLOUDWATCH = {"type": "record", "required": True, "fields": [
    {"enabled": _boolean(default=False)},
    {"namespace": _string(default="KongBedrockGateway")},
    {"region": _string(default="us-east-1")},
    {"flush_interval_s": _number(default=60, between=[1, 3600])},
]}
_DOGSTATSD = {"type": "record", "required": True, "fields": [
    {"enabled": _boolean(default=False)},
    {"host": _string(default="127.0.0.1")},
    {"port": _integer(default=8125, between=[1, 65535])},
    {"prefix": _string(default="kong.bedrock")},
    {"tags": _strings(default=[])},
]}

TOKEN_METER_SCHEMA = [
    _ROLE_PREFIX,
    _DEFAULT_ROLE,
    {"limits": {"type": "array", "required": True, "default": [], "elements": _LIMIT}},
    {"consumer_overrides": {"type": "array", "required": True, "default": [], "elements": _OVERRIDE}},
    {"count_cache_read_tokens": _boolean(required=True, default=False,
                                         description="Whether cache reads count against token windows (always "
                                                     "priced).")},
    {"count_cache_write_tokens": _boolean(required=True, default=True)},
    {"prices": {"type": "array", "required": True, "default": [], "elements": _PRICE,
                "description": "Overrides of the shipped price table."}},
    {"storage": _string(required=True, default="memory", one_of=["memory", "redis"])},
    {"redis": _REDIS},
    {"on_store_error": _string(required=True, default="allow", one_of=["allow", "deny"],
                               description="Redis unreachable: allow the request (fail open) or answer 503.")},
    {"cloudwatch": _CLOUDWATCH},
    {"dogstatsd": _DOGSTATSD},
    {"service_tier_price_factors": {"type": "record", "required": True, "fields": [
        {"flex": _number(required=True, default=0.5, between=[0, 100])},
        {"priority": _number(required=True, default=1.75, between=[0, 100])},
        {"reserved": _number(required=True, default=1, between=[0, 100])},
    ], "description": "Multipliers on a model's Standard prices for calls Bedrock served on that tier."}},
    {"guardrail_text_unit_prices": {"type": "record", "required": True, "fields": [
        {policy: _number(required=True, default=float(price), between=[0, 1000])}
        for policy, price in GUARDRAIL_UNIT_PRICES.items()
    ], "description": "USD per 1,000 text units a Bedrock guardrail processed, by policy (traced calls only)."}},
    {"consumer_label_limit": _integer(required=True, default=100, between=[0, 100000],
                                      description="Distinct consumer label values in metrics; others are `other`.")},
    {"budget_readers": _strings(required=True, default=["admin"],
                                description="Roles that may read any consumer's budget: GET /v1/budget?consumer=.")},
]

_ACTION = {"type": "string", "required": True, "one_of": ["block", "redact", "monitor", "off"]}

_CUSTOM = {"type": "record", "fields": [
    {"category": _string(required=True, description="Name reported in the 403, metrics and logs.")},
    {"pattern": _string(required=True, is_regex=True, description="RE2 regular expression (case-insensitive): "
                                                                  "one RE2 refuses makes the plugin refuse every "
                                                                  "request (503) and log why.")},
    {"action": {**_ACTION, "default": "block"}},
]}

ECOMMERCE_GUARDRAILS_SCHEMA = [
    _ROLE_PREFIX,
    {"sql_injection": {**_ACTION, "default": "block"}},
    {"payment_card": {**_ACTION, "default": "block"}},
    {"cvv": {**_ACTION, "default": "block"}},
    {"credentials": {**_ACTION, "default": "block"}},
    {"abuse": {**_ACTION, "default": "block"}},
    {"unreadable_document": _string(required=True, one_of=["block", "monitor", "off"], default="block",
                                    description="An attached document whose text cannot be scanned: a Word 97 "
                                                ".doc, an encrypted or malformed file, one too long to read, or "
                                                "one the request only points to (S3, a URL).")},
    {"custom_patterns": {"type": "array", "required": True, "default": [], "elements": _CUSTOM}},
    {"seed_keywords": _boolean(required=True, default=False,
                               description="The seeds' literal keyword list (SQL, SELECT, DROP, password, token, "
                                           "...). Off by default: it blocks ordinary prose and every Claude Code "
                                           "session.")},
    {"scan_tool_results": _boolean(required=True, default=False,
                                   description="Also scan tool results in user turns (not user-authored text).")},
    {"scan_system_reminders": _boolean(required=True, default=False,
                                       description="Also scan Claude Code's <system-reminder> blocks in user turns.")},
]
