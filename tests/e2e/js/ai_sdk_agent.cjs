// A two-step tool loop written as Vercel AI SDK users write one, run by tests/e2e/test_ai_sdk.py.
// argv[2]: JSON {modules, baseURL, apiKey, provider, model, stream, store}. Prints one JSON line.
const path = require("path");
const { createRequire } = require("module");

const options = JSON.parse(process.argv[2]);
const load = createRequire(path.join(options.modules, "package.json"));
const { generateText, streamText, tool, stepCountIs } = load("ai");
const { z } = load("zod");

function model() {
  const { baseURL, apiKey } = options;
  switch (options.provider) {
    case "openai": return load("@ai-sdk/openai").createOpenAI({ baseURL: baseURL + "/v1", apiKey })(options.model);
    case "openai-chat": return load("@ai-sdk/openai").createOpenAI({ baseURL: baseURL + "/v1", apiKey }).chat(options.model);
    case "anthropic": return load("@ai-sdk/anthropic").createAnthropic({ baseURL: baseURL + "/v1", apiKey })(options.model);
    case "bedrock": return load("@ai-sdk/amazon-bedrock").createAmazonBedrock({
      baseURL, region: "us-east-1", accessKeyId: "client-side-not-used", secretAccessKey: "client-side-not-used",
      headers: { "X-API-Key": apiKey } })(options.model);
  }
  throw new Error("unknown provider " + options.provider);
}

const weather = tool({
  description: "The weather in a city",
  inputSchema: z.object({ city: z.string() }),
  execute: async ({ city }) => ({ city, celsius: 21 }),
});

async function main() {
  const request = {
    model: model(), prompt: "call weather", tools: { weather }, stopWhen: stepCountIs(3), maxRetries: 0,
    providerOptions: options.store === undefined ? undefined : { openai: { store: options.store } },
  };
  let steps, text;
  if (options.stream) {
    let failure;
    const result = streamText({ ...request, onError: ({ error }) => { failure = error; } });
    for await (const _ of result.textStream) { /* consumed as a UI would */ }
    if (failure) throw failure;
    steps = await result.steps; text = await result.text;
  } else {
    ({ steps, text } = await generateText(request));
  }
  console.log(JSON.stringify({
    text,
    steps: steps.map((s) => ({ calls: s.toolCalls.map((c) => c.toolName), finish: s.finishReason,
                               input: s.request.body && s.request.body.input })),
  }));
}

main().catch((e) => {
  console.log(JSON.stringify({ error: e.message, status: e.statusCode, body: e.responseBody }));
});
