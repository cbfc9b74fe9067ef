"""What a tool returns reaches the model whole, whichever API carried it back."""

import base64

import pytest

from tests import document_files
from tests.e2e.clients import last_sent, oa

pytestmark = pytest.mark.timeout(60)

PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c63f8cfc0f01f0005000201e2ed67a10000000049454e44ae426082")).decode()
CHART = {"type": "function", "name": "draw_chart", "parameters": {"type": "object", "properties": {}}}


def test_a_function_call_output_with_an_image_gives_the_model_the_image(stack):
    ask = [{"role": "user", "content": "call draw_chart"}]
    first = oa(stack).responses.create(model="sonnet", max_output_tokens=200, tools=[CHART], input=ask)
    call = next(item for item in first.output if item.type == "function_call")
    answer = oa(stack).responses.create(model="sonnet", max_output_tokens=200, tools=[CHART], input=[
        *ask, call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id,
         "output": [{"type": "input_text", "text": "the chart:"},
                    {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}"}]}])
    assert answer.output_text.startswith("Emulated reply to: tool result the chart:")
    result = last_sent(stack)["body"]["messages"][-1]["content"][0]["toolResult"]
    assert result["toolUseId"] == call.call_id
    assert result["content"] == [{"text": "the chart:"}, {"image": {"format": "png", "source": {"bytes": PNG}}}]


def test_a_tool_message_with_a_file_gives_the_model_the_document(stack):
    invoice = base64.b64encode(document_files.pdf("Invoice 7: paid")).decode()
    tools = [{"type": "function", "function": {"name": CHART["name"], "parameters": CHART["parameters"]}}]
    answer = oa(stack).chat.completions.create(model="sonnet", max_tokens=100, tools=tools, messages=[
        {"role": "user", "content": "call draw_chart"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "draw_chart", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": [
            {"type": "text", "text": "the invoice:"},
            {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{invoice}"}}]}])
    assert answer.choices[0].message.content.startswith("Emulated reply to: tool result the invoice:")
    result = last_sent(stack)["body"]["messages"][-1]["content"][0]["toolResult"]
    assert result["content"][0] == {"text": "the invoice:"}
    assert result["content"][1]["document"]["format"] == "pdf"
    assert result["content"][1]["document"]["source"] == {"bytes": invoice}


def test_a_call_id_bedrock_would_refuse_is_sent_as_one_it_takes_for_the_call_and_its_result(stack):
    """Ids from another provider (here a Gemini call id with its thought signature, as LiteLLM writes it) may be
    longer than Bedrock's 64 characters or hold others; the call and its answer still pair up."""
    foreign = "call_7f3c9a2e-4b1d-4e8a-9c2f-1a2b3c4d5e6f__thought__CiQBcsjafQ+/x=="
    tools = [{"type": "function", "function": {"name": CHART["name"], "parameters": CHART["parameters"]}}]
    answer = oa(stack).chat.completions.create(model="sonnet", max_tokens=100, tools=tools, messages=[
        {"role": "user", "content": "call draw_chart"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": foreign, "type": "function", "function": {"name": "draw_chart", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": foreign, "content": "drawn"}])
    assert answer.choices[0].message.content.startswith("Emulated reply to: tool result drawn")
    messages = last_sent(stack)["body"]["messages"]
    sent_id = messages[1]["content"][0]["toolUse"]["toolUseId"]
    assert messages[2]["content"][0]["toolResult"]["toolUseId"] == sent_id != foreign and len(sent_id) <= 64
