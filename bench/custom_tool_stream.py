"""A streamed custom tool call (Codex's apply_patch): what turning Bedrock's JSON pieces into text costs.

    python -m bench.custom_tool_stream

Bedrock streams a tool call's input as JSON in small pieces (input_json_delta); an OpenAI
client of a custom tool gets the text inside it as it grows (kong_plugins/formats/custom_tools.py).
This renders whole Chat Completions and Responses streams of one call, as the relay does on the
plugin server's event loop, for patches of growing size cut into pieces of about what Bedrock sends.
"""

from __future__ import annotations

import json
import statistics
import time

from bench.report import write_results
from kong_plugins.context import Usage
from kong_plugins.formats import openai_chat_stream, responses_render
from kong_plugins.formats.tool_kinds import ToolKinds
from tests.stream_events import tool_call_stream

KINDS = ToolKinds(custom=frozenset({"apply_patch"}))
PIECE = 40   # characters of JSON per input_json_delta, a few tokens' worth
HUNK = ('@@ def total(order):\n-    return sum(line["price"] for line in order.lines)\n'
        '+    return sum(line["price"] * line["qty"] for line in order.lines)  # "qty" was ignored\n')


def patch(kilobytes: int) -> str:
    header = "*** Begin Patch\n*** Update File: shop/orders.py\n"
    body = HUNK * (kilobytes * 1024 // len(HUNK) + 1)
    return (header + body)[:kilobytes * 1024] + "\n*** End Patch"


def events(text: str) -> list[dict]:
    encoded = json.dumps({"input": text})
    return tool_call_stream("apply_patch", (encoded[i:i + PIECE] for i in range(0, len(encoded), PIECE)))


def render_ms(api: str, stream: list[dict]) -> float:
    renderer = (openai_chat_stream.ChunkRenderer(model="m", completion_id="c", include_usage=False, tools=KINDS)
                if api == "chat" else responses_render.EventRenderer(model="m", response_id="r", tools=KINDS))
    usage = Usage(input=10, output=10)
    started = time.perf_counter()
    for event in stream:
        for _ in renderer.render(event, usage):
            pass
    return (time.perf_counter() - started) * 1000


def main() -> int:
    results = {"piece_chars": PIECE, "rows": []}
    print(f"{'patch KB':>9}{'pieces':>8}{'Chat ms':>10}{'Responses ms':>14}")
    for kilobytes in (3, 30, 300):
        stream = events(patch(kilobytes))
        chat = statistics.median(render_ms("chat", stream) for _ in range(5))
        responses = statistics.median(render_ms("responses", stream) for _ in range(5))
        pieces = len(stream) - 5
        print(f"{kilobytes:>9}{pieces:>8}{chat:>10.1f}{responses:>14.1f}")
        results["rows"].append({"patch_kb": kilobytes, "pieces": pieces, "chat_ms": round(chat, 2),
                                "responses_ms": round(responses, 2)})
    write_results("bench/results/custom_tool_stream.json", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
