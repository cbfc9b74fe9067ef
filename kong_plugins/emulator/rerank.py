"""Cohere Rerank 3.5 on InvokeModel: body validation, relevance scores and the answer.

The body is Cohere's v2 Rerank request without ``model`` [1][2]: ``query`` (a string, required),
``documents`` (strings, required), ``top_n`` (optional: every document is ranked and returned when absent),
``api_version`` (required: 2, which Bedrock checks: it answers 1 with "#/api_version: 1 is not greater or
equal to 2" [3]) and ``max_tokens_per_doc`` (optional, 4096 by default [4]). Bedrock checks it against a
JSON schema first, in the validator's wording (see schema_checks.py); as in its other model schemas, a key
not listed is extraneous (v1's ``return_documents``, ``rank_fields``, ``max_chunks_per_doc`` among them).
That ``api_version`` must also be at most 2 is the emulator's reading: 2 is the only later version.

- Documents are strings only: Cohere's v2 Rerank, which ``api_version: 2`` selects, dropped v1's document
  objects ({"text": ...}) for strings, with structured data sent as YAML text [4]; an object is refused.
- 1 to 1,000 documents: the limit of Bedrock's own Rerank API [5] (Cohere's API takes up to 10,000 [6];
  InvokeModel's limit for this model is not published).
- ``top_n`` and ``max_tokens_per_doc`` are integers from 1 up. A ``top_n`` above the number of documents
  is clipped to it, as Cohere's API does (Bedrock's behaviour is not published).
- The query may have up to 2,048 tokens [6]; a longer one is refused with MSG_INPUT_TOO_LONG (Bedrock's
  words for an input too long for a Cohere model; what it answers here is not published).
- A document longer than ``max_tokens_per_doc`` tokens is truncated to it, not refused [4]. What remains is
  scored in chunks that fit the model's 4,096-token context beside the query and 3 reserved tokens, the
  document taking its best chunk's score, as Cohere describes [6][7] (a 100-token query leaves chunks of
  3,993 tokens [7]). Tokens are the emulator's estimate: one per 4 bytes of UTF-8.

The answer is ``{"id", "results": [{"index", "relevance_score"}, ...], "meta"}``: results sorted by score,
best first, ``top_n`` of them; ``meta`` is ``{"api_version": {"version": "2"}, "billed_units":
{"search_units": n}}`` as in Cohere's sample answer to this very body [8] (Bedrock bills rerank by query:
one search unit per query of up to 100 documents, so n is the documents divided by 100, rounded up).
Bedrock's whole answer for this model is not published ([1] prints only ``results``). Headers: content type,
request id and X-Amzn-Bedrock-Invocation-Latency; no token-count headers, which no source shows for rerank.

Scores are deterministic. A document scores by the share of the query's distinct words (lower-cased \\w+)
found in its best chunk: with ``hits`` of the query's ``n`` words, ``(hits + t / 2) / (n + 1)``, where
``t`` in [0, 1) is hashed from the model, query and document, so one more word shared always ranks higher,
equal shares still order (and differ), and every score is in [0, 1). Rounded to 8 decimals; equal scores
keep the documents' order.

[1] https://opensearch.org/docs/latest/vector-search/tutorials/reranking/reranking-cohere-bedrock/
[2] https://github.com/cohere-ai/cohere-python/blob/main/src/cohere/aws_client.py (``api_version`` added)
[3] https://github.com/cohere-ai/cohere-python/issues/613
[4] https://github.com/cohere-ai/cohere-python/blob/main/src/cohere/v2/raw_client.py (``rerank``, v2)
[5] https://docs.aws.amazon.com/bedrock/latest/APIReference/API_agent-runtime_Rerank.html
[6] https://docs.cohere.com/docs/reranking-best-practices
[7] https://docs.oracle.com/en-us/iaas/Content/generative-ai/benchmark-cohere-rerank-3-5.htm
[8] https://github.com/cohere-ai/cohere-aws/blob/main/examples/rerank_v3_samples/rerank_v3.5_output.json
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from dataclasses import dataclass
from typing import Any

from .errors import MSG_INPUT_TOO_LONG, validation
from .prompt import BYTES_PER_TOKEN, LastUserTurn, Prompt, SegmentList, estimate_tokens
from .schema_checks import expect_object, expect_string, expect_strings, in_range, only_keys, required_key

COHERE_RERANK_35 = "cohere.rerank-v3-5:0"
API_VERSION = 2
KEYS = frozenset({"query", "documents", "top_n", "api_version", "max_tokens_per_doc"})
MAX_DOCUMENTS = 1000
MAX_QUERY_TOKENS = 2048
DEFAULT_TOKENS_PER_DOC = 4096
CONTEXT_TOKENS = 4096
RESERVED_TOKENS = 3
DOCUMENTS_PER_SEARCH_UNIT = 100
SCORE_DECIMALS = 8

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class RerankRequest:
    """A validated rerank body: the documents as scored (truncated) and how many results to give."""

    model: str
    query: str
    documents: tuple[str, ...]
    top_n: int              # clipped to the number of documents

    @property
    def chunk_tokens(self) -> int:
        """How much of a document one pass of the model sees beside the query."""
        return CONTEXT_TOKENS - RESERVED_TOKENS - tokens(self.query)


def tokens(text: str) -> int:
    return estimate_tokens(len(text.encode("utf-8")), 0)


def _head(text: str, budget: int) -> str:
    """The text's first ``budget`` tokens; a cut through a multi-byte character drops that character."""
    return text.encode("utf-8")[:budget * BYTES_PER_TOKEN].decode("utf-8", errors="ignore")


def parse_rerank_body(body: Any, base_id: str) -> tuple[Prompt, RerankRequest]:
    """Validate like Bedrock (the schema, then the query's length); the query and documents become a Prompt."""
    only_keys(expect_object(body, "#"), KEYS, "#")
    query = expect_string(required_key(body, "query", "#"), "#/query")
    documents = expect_strings(required_key(body, "documents", "#"), "#/documents", MAX_DOCUMENTS)
    top_n = in_range(body.get("top_n", len(documents)), "#/top_n", 1, None, integer=True)
    in_range(required_key(body, "api_version", "#"), "#/api_version", API_VERSION, API_VERSION, integer=True)
    budget = in_range(body.get("max_tokens_per_doc", DEFAULT_TOKENS_PER_DOC), "#/max_tokens_per_doc", 1, None,
                      integer=True)
    if tokens(query) > MAX_QUERY_TOKENS:
        raise validation(MSG_INPUT_TOO_LONG)
    fitted = tuple(_head(document, budget) for document in documents)
    segments = SegmentList()
    for text in (query, *fitted):
        segments.add("user:text", text)
    prompt = Prompt(segments=segments.items, last_user=LastUserTurn(text=query), max_tokens=0)
    return prompt, RerankRequest(base_id, query, fitted, min(top_n, len(documents)))


def words(text: str) -> set[str]:
    return {word.lower() for word in _WORD.findall(text)}


def _chunks(document: str, chunk_tokens: int) -> list[str]:
    data, step = document.encode("utf-8"), chunk_tokens * BYTES_PER_TOKEN
    return [data[start:start + step].decode("utf-8", errors="ignore") for start in range(0, len(data), step)]


def _tie_breaker(request: RerankRequest, document: str) -> float:
    """A number in [0, 1) hashed from the model, query and document."""
    digest = hashlib.sha256(json.dumps([request.model, request.query, document]).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def relevance_score(request: RerankRequest, document: str) -> float:
    """``(hits + t / 2) / (n + 1)``: see the module docstring."""
    wanted = words(request.query)
    hits = max((len(wanted & words(chunk)) for chunk in _chunks(document, request.chunk_tokens)), default=0)
    return round((hits + _tie_breaker(request, document) / 2) / (len(wanted) + 1), SCORE_DECIMALS)


def response_json(request: RerankRequest) -> dict[str, Any]:
    """The ``top_n`` best documents by score (ties in document order), with a fresh id and the billed units."""
    scores = [relevance_score(request, document) for document in request.documents]
    ranked = sorted(range(len(scores)), key=lambda index: (-scores[index], index))[:request.top_n]
    units = math.ceil(len(request.documents) / DOCUMENTS_PER_SEARCH_UNIT)
    return {"id": str(uuid.uuid4()),
            "results": [{"index": index, "relevance_score": scores[index]} for index in ranked],
            "meta": {"api_version": {"version": str(API_VERSION)}, "billed_units": {"search_units": units}}}
