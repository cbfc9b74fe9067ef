"""A chat request from any of the three chat routes, as the one internal model plus what only some clients ask for.

Anthropic Messages is the internal model; OpenAI Chat and Responses bodies are
translated into it here, so bedrock-proxy plans every chat call the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from kong_plugins.bedrock import request_metadata
from kong_plugins.formats import (anthropic, custom_tools, openai_chat, openai_responses, openai_settings,
                                  response_format, responses_errors)
from kong_plugins.formats.api import ApiFormat
from kong_plugins.formats.body import RequestError
from kong_plugins.formats.tool_kinds import FUNCTIONS_ONLY, ToolKinds


@dataclass
class ChatRequest:
    internal: dict[str, Any]
    """Anthropic Messages body (``model`` may be None: the role's default)."""
    openai: dict[str, Any] | None = None
    """The OpenAI Chat form of an OpenAI client's request (Responses translated), for OpenAI-compatible upstreams."""
    include_usage: bool = False
    """OpenAI ``stream_options.include_usage``."""
    tools: ToolKinds = FUNCTIONS_ONLY
    """How the reply shows each tool call: JSON ``response_format``'s answer, a custom tool's text, a function."""
    responses_api: bool = False
    end_user: str | None = None
    """Who the client calls for: OpenAI `safety_identifier` (else `user`), Anthropic `metadata.user_id`."""
    client_metadata: dict[str, str] | None = None
    """An OpenAI client's own `metadata` pairs, cleaned to Bedrock's requestMetadata rules."""
    omitted_tools: tuple[str, ...] = ()
    """Hosted OpenAI tool types left out of the call (Responses API)."""
    store: bool = False
    """A Responses call whose output items are to be kept for later `item_reference`s (OpenAI's `store`)."""
    turn: openai_responses.Turn | None = None
    """A Responses call kept as a turn for a later `previous_response_id` (when the gateway keeps inputs)."""
    echo: Mapping[str, Any] | None = None
    """The Responses request's settings its Response repeats (openai_responses.ECHOED)."""
    conversation: openai_responses.ConversationTurn | None = None
    """The OpenAI Conversation a Responses call continues and joins."""
    choices: int = 1
    """OpenAI Chat's `n`: that many Bedrock calls, answered as one completion's choices."""
    background: bool = False
    """A Responses call answered at once and run on, its Response polled from the store (relay.background)."""


END_USER_FIELDS = ("safety_identifier", "user")


def parse_chat(api: ApiFormat, body: bytes | None, default_max_tokens: int, *, responses_api: bool = False,
               path_model: str | None = None, omit_hosted_tools: bool = True,
               stored_items: openai_responses.StoredItems | None = None,
               conversation: openai_responses.Conversation | None = None,
               conversation_items: openai_responses.ConversationItems | None = None) -> ChatRequest:
    """Parse and translate; `path_model` is the model a seed route's path fixes ("" for the role's default);
    `omit_hosted_tools`: leave a Responses request's hosted OpenAI tools out rather than refuse it;
    `stored_items`: the caller's kept Responses items, for item references (None: none are kept);
    `conversation`: the caller's kept turns, for `previous_response_id` (None: inputs are not kept);
    `conversation_items`: the caller's OpenAI Conversations, for `conversation` (None: inputs are not kept).

    Raises RequestError with the client's field in `param`.
    """
    if api is ApiFormat.ANTHROPIC:
        internal = anthropic.parse_request(body)
        metadata = internal.get("metadata")
        user_id = metadata.get("user_id") if isinstance(metadata, dict) else None
        return ChatRequest(internal, end_user=user_id if isinstance(user_id, str) else None)
    if responses_api:
        translated = openai_responses.chat_request(body, omit_hosted=omit_hosted_tools, stored=stored_items,
                                                   conversation=conversation,
                                                   conversation_items=conversation_items)
        request, namespaced, omitted = translated.chat, translated.namespaced, translated.omitted
        store = translated.store and stored_items is not None
        if translated.background and not store:
            raise RequestError("background: a background response is kept to be polled, and this gateway keeps no "
                               "responses (bedrock-proxy's openai_response_store).", "background")
        turn = translated.turn if store and conversation is not None else None
        echo: Mapping[str, Any] | None = {**translated.echo, "store": store}
        joins, background = translated.conversation, translated.background
    else:
        request, namespaced, omitted = openai_chat.parse_request(body, model_in_path=path_model is not None), {}, ()
        store, turn, echo, joins, background = False, None, None, None, False
    model = request.get("model") if path_model is None else (path_model or None)
    try:
        internal = openai_chat.to_anthropic(request, default_max_tokens)
    except RequestError as exc:
        if not responses_api:
            raise
        raise responses_errors.in_client_terms(exc, translated.origins,
                                               bool(translated.omitted or translated.namespaced)) from None
    return ChatRequest({**internal, "model": model}, request,
                       include_usage=openai_settings.include_usage(request),
                       tools=ToolKinds(response_format.answer_tool(request), custom_tools.names(request.get("tools")),
                                       namespaced),
                       responses_api=responses_api,
                       end_user=_openai_end_user(request),
                       client_metadata=request_metadata.from_openai(request.get(request_metadata.OPENAI_MEMBER)),
                       omitted_tools=omitted, store=store, turn=turn, echo=echo, conversation=joins,
                       choices=1 if responses_api else openai_chat.choices(request), background=background)


def _openai_end_user(request: dict[str, Any]) -> str | None:
    for name in END_USER_FIELDS:
        value = request.get(name)
        if value is not None and not isinstance(value, str):
            raise RequestError(f"{name}: must be a string.", name)
    return request.get("safety_identifier") or request.get("user") or None
