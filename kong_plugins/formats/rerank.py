"""Cohere's Rerank API (`POST /v1/rerank`, `/v2/rerank`) on Bedrock's Cohere Rerank: request, body, answer.

The cohere SDK's `rerank` (v1 `Client`, v2 `ClientV2`), LangChain's `CohereRerank` and other
Cohere-format clients send a query and documents; Bedrock's InvokeModel takes the same fields
plus `api_version: 2` and answers `results` of `{index, relevance_score}`, best first. v1's
documents may be objects (`{"text": ...}`, or other fields picked by `rank_fields`) and
`return_documents` echoes them back; v2 takes strings only. Bedrock bills search units: one
query over up to 100 documents, so 250 documents are 3 units.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from kong_plugins.formats import wire_json
from kong_plugins.formats.body import RequestError, load_json_object, whole_number

MAX_DOCUMENTS = 1000
"""Cohere's own limit per request."""
DOCUMENTS_PER_UNIT = 100
BEDROCK_API_VERSION = 2


@dataclass(frozen=True)
class RerankJob:
    query: str
    documents: tuple[str, ...]    # the text each document is ranked by
    top_n: int | None
    return_documents: bool
    max_tokens_per_doc: int | None
    echoed: tuple[Any, ...] = ()  # v1's documents as sent, for return_documents

    @property
    def search_units(self) -> int:
        return -(-len(self.documents) // DOCUMENTS_PER_UNIT)

    def body(self) -> bytes:
        body: dict[str, Any] = {"query": self.query, "documents": list(self.documents),
                                "api_version": BEDROCK_API_VERSION}
        if self.top_n is not None:
            body["top_n"] = self.top_n
        if self.max_tokens_per_doc is not None:
            body["max_tokens_per_doc"] = self.max_tokens_per_doc
        return wire_json.dumps(body)


def parse_request(body: bytes | None, *, v2: bool) -> tuple[RerankJob, str | None]:
    """(the job, the model asked for); RequestError names the field at fault."""
    data = load_json_object(body)
    query = data.get("query")
    if not isinstance(query, str) or not query.strip():
        raise RequestError("query: Field required (a non-empty string).", "query")
    sent = data.get("documents")
    if not isinstance(sent, list) or not sent:
        raise RequestError("documents: Field required (a non-empty list).", "documents")
    if len(sent) > MAX_DOCUMENTS:
        raise RequestError(f"documents: at most {MAX_DOCUMENTS} per request.", "documents")
    texts = tuple(_text(document, data.get("rank_fields"), v2) for document in sent)
    job = RerankJob(query=query, documents=texts, top_n=_positive(data, "top_n"),
                    return_documents=not v2 and data.get("return_documents") is True,
                    max_tokens_per_doc=_positive(data, "max_tokens_per_doc"), echoed=tuple(sent))
    return job, data.get("model") or None   # load_json_object refuses a model that is not a string


def _text(document: Any, rank_fields: Any, v2: bool) -> str:
    if isinstance(document, str):
        return document
    if v2 or not isinstance(document, dict):
        raise RequestError("documents: each document must be a string." if v2 else
                           "documents: each document must be a string or an object.", "documents")
    fields = rank_fields if isinstance(rank_fields, list) and rank_fields else ["text"]
    if not all(isinstance(document.get(f), str) for f in fields):
        raise RequestError(f"documents: every object needs string fields {', '.join(map(str, fields))}.", "documents")
    return "\n".join(f"{f}: {document[f]}" for f in fields) if len(fields) > 1 else document[fields[0]]


def _positive(data: dict[str, Any], key: str) -> int | None:
    return None if data.get(key) is None else whole_number(data[key], key)


def billed_by_body(body: Any) -> RerankJob | None:
    """A Bedrock-native reranking body as a job, for its search units (None: Bedrock will refuse it)."""
    documents = body.get("documents") if isinstance(body, dict) else None
    if not isinstance(documents, list) or not documents or not isinstance(body.get("query"), str):
        return None
    return RerankJob(query=body["query"], documents=tuple(map(str, documents)), top_n=None, return_documents=False,
                     max_tokens_per_doc=None)


def render(content: bytes, job: RerankJob) -> bytes:
    """Cohere's RerankResponse from Bedrock's answer; ValueError when it has no readable results."""
    answer = wire_json.loads(content)
    results = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(results, list):
        raise ValueError("no results in Bedrock's answer")
    ranked = []
    for result in results:
        index, score = result["index"], result["relevance_score"]
        if not isinstance(index, int) or not 0 <= index < len(job.documents) or not isinstance(score, (int, float)):
            raise ValueError("a result Bedrock's answer cannot hold")
        item: dict[str, Any] = {"index": index, "relevance_score": score}
        if job.return_documents:
            echoed = job.echoed[index]
            item["document"] = echoed if isinstance(echoed, dict) else {"text": echoed}
        ranked.append(item)
    response_id = answer.get("id") if isinstance(answer.get("id"), str) else str(uuid.uuid4())
    return wire_json.dumps({"id": response_id, "results": ranked,
                            "meta": {"api_version": {"version": "2"},
                                     "billed_units": {"search_units": job.search_units}}})
