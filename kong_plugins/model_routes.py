"""bedrock-proxy's routes that serve one kind of model: OpenAI embeddings and images, Cohere rerank.

Each needs its model named (there is no role default for them, as there is for chat) and of its
kind; a model of another kind is a 400 listing the caller's choices, and a model of these kinds
on a chat API is a 400 naming the route that serves it (`KIND_ROUTES`). Mixed into
`bedrock_proxy.Plugin`, whose role checks and Bedrock-call planning it shares.
"""

from __future__ import annotations

from typing import Any

from kong_plugins.context import RequestContext
from kong_plugins.formats import openai_embeddings, openai_image_edits, openai_images, rerank
from kong_plugins.formats.api import IMAGE_EDITS_PATH, IMAGE_VARIATIONS_PATH, ApiFormat
from kong_plugins.formats.body import RequestError
from kong_plugins.formats.errors import ErrorKind, Reply, render_error
from kong_plugins.guardrails import scan_pool
from kong_plugins.metering.estimate import CHARS_PER_TOKEN
from kong_plugins.policy.catalogue import CatalogueEntry
from kong_plugins.relay.call import plan_embeddings, plan_images, plan_rerank

EMBEDDINGS_PATH = "/v1/embeddings"
IMAGES_PATH = "/v1/images/generations"
KIND_ROUTES = {"embedding": ("an embedding", EMBEDDINGS_PATH), "image": ("an image", IMAGES_PATH),
               "rerank": ("a rerank", "/v1/rerank or /v2/rerank")}
"""Catalogue kinds no chat API reaches: what they are called, and the route that serves them."""
_IMAGE_PARSERS = {IMAGE_VARIATIONS_PATH: openai_images.parse_variation, IMAGE_EDITS_PATH: openai_image_edits.parse_edit}


class ModelRoutes:
    """`_embeddings`, `_images`, `_rerank`: plan the one kind of call each route makes."""

    region: str
    _authorise: Any
    _usable: Any
    _unguarded: Any
    _caller: Any

    def _embeddings(self, ctx: RequestContext) -> Reply | None:
        api = ApiFormat.OPENAI
        try:
            request = openai_embeddings.parse_request(ctx.body)
            entry = self._entry_of_kind(api, ctx, request.model, "embedding")
            if isinstance(entry, Reply):
                return entry
            ctx.upstream = plan_embeddings(request, entry, client_model=request.model or entry.name,
                                           region=self.region, metadata=self._caller(ctx))
        except RequestError as exc:
            return render_error(api, ErrorKind.INVALID_REQUEST, str(exc), param=exc.param)
        ctx.model = entry.name
        ctx.planned_input = sum(-(-len(text) // CHARS_PER_TOKEN) for text in request.texts)
        ctx.planned_output = 0
        return None

    def _images(self, ctx: RequestContext, path: str = IMAGES_PATH) -> Reply | None:
        """images.generate, images.create_variation (IMAGE_VARIATIONS_PATH) or images.edit (IMAGE_EDITS_PATH)."""
        api = ApiFormat.OPENAI
        parse = _IMAGE_PARSERS.get(path, openai_images.parse_request)
        try:   # a large upload is decoded on a thread (Pillow lets go of the GIL), so the loop serves others meanwhile
            job, model, response_format = scan_pool.run(len(ctx.body or b""), parse, ctx.body)
        except RequestError as exc:
            return render_error(api, ErrorKind.INVALID_REQUEST, str(exc), param=exc.param)
        entry = self._entry_of_kind(api, ctx, model, "image")
        if isinstance(entry, Reply):
            return entry
        try:
            ctx.upstream = plan_images(job, entry, client_model=model or entry.name, response_format=response_format,
                                       region=self.region, metadata=self._caller(ctx))
        except RequestError as exc:
            return render_error(api, ErrorKind.INVALID_REQUEST, str(exc), param=exc.param)
        ctx.model = entry.name
        return None

    def _rerank(self, ctx: RequestContext, path: str) -> Reply | None:
        api = ApiFormat.COHERE
        try:
            job, model = rerank.parse_request(ctx.body, v2=path.startswith("/v2/"))
        except RequestError as exc:
            return render_error(api, ErrorKind.INVALID_REQUEST, str(exc), param=exc.param)
        entry = self._entry_of_kind(api, ctx, model, "rerank")
        if isinstance(entry, Reply):
            return entry
        ctx.upstream = plan_rerank(job, entry, client_model=model or entry.name, region=self.region,
                                   metadata=self._caller(ctx))
        ctx.model = entry.name
        return None

    def _entry_of_kind(self, api: ApiFormat, ctx: RequestContext, model: str | None,
                       kind: str) -> CatalogueEntry | Reply:
        """The named model, if the role may use it, it is of `kind`, and the role's guardrail (if any) applies."""
        named = KIND_ROUTES[kind][0]
        choices = f"{named.split(' ', 1)[1]} models your role may use: {self._usable(ctx, frozenset({kind}))}."
        if not model:
            return render_error(api, ErrorKind.INVALID_REQUEST, f"model: required; {choices}", param="model")
        entry = self._authorise(api, ctx, model)
        if isinstance(entry, Reply):
            return entry
        if entry.kind != kind:
            return render_error(api, ErrorKind.INVALID_REQUEST, f"{entry.name} is not {named} model; {choices}",
                                param="model")
        unguarded = self._unguarded(api, ctx, entry)
        return entry if unguarded is None else unguarded
