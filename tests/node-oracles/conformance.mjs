// The OpenAI-compatible API of `sa serve-model`, spoken to by OpenAI's official JavaScript client.
// Usage: node conformance.mjs BASE_URL API_KEY
// Prints one line per check ("ok NAME" or "FAIL NAME: why") and exits 1 when any check fails.
import OpenAI from "openai";

const [baseURL, apiKey] = process.argv.slice(2);
if (!baseURL || !apiKey) {
  console.error("usage: node conformance.mjs BASE_URL API_KEY");
  process.exit(2);
}

const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 120_000 });
let failures = 0;

async function check(name, body) {
  try {
    await body();
    console.log(`ok ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e?.message ?? e}`);
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

// The call must fail with this HTTP status (and, when given, this error code and parameter), as the client reports it.
async function refused(call, status, { code, param, type } = {}) {
  try {
    await call();
  } catch (e) {
    expect(e instanceof OpenAI.APIError, `not an APIError: ${e}`);
    expect(e.status === status, `status ${e.status}, expected ${status} (${e.message})`);
    if (code !== undefined) expect(e.code === code, `code ${e.code}, expected ${code}`);
    if (param !== undefined) expect(e.param === param, `param ${e.param}, expected ${param}`);
    if (type !== undefined) expect(e.type === type, `type ${e.type}, expected ${type}`);
    return e;
  }
  throw new Error(`succeeded, expected ${status}`);
}

const user = (content) => [{ role: "user", content }];
let model;

await check("models.list lists the served model, with an id usable in a URL", async () => {
  const page = await client.models.list();
  expect(page.data.length >= 1, "no model listed");
  model = page.data[0].id;
  expect(!model.includes("/"), `id ${model} contains '/'`);
  expect(page.data[0].object === "model", "object is not 'model'");
});

await check("models.retrieve finds each listed id", async () => {
  const m = await client.models.retrieve(model);
  expect(m.id === model, `retrieved ${m.id}`);
});

let plain;
await check("chat.completions.create answers with usage", async () => {
  const r = await client.chat.completions.create({ model, messages: user("Is honesty good?"), max_tokens: 8, temperature: 0, seed: 1 });
  expect(r.object === "chat.completion", `object ${r.object}`);
  expect(typeof r.choices[0].message.content === "string", "no content");
  expect(r.choices[0].message.role === "assistant", "role is not assistant");
  expect(["stop", "length"].includes(r.choices[0].finish_reason), `finish_reason ${r.choices[0].finish_reason}`);
  expect(r.usage.total_tokens === r.usage.prompt_tokens + r.usage.completion_tokens, "usage does not add up");
  plain = r.choices[0].message.content;
});

await check("streaming with include_usage sends the same text and ends with usage", async () => {
  const stream = await client.chat.completions.create({
    model, messages: user("Is honesty good?"), max_tokens: 8, temperature: 0, seed: 1, stream: true, stream_options: { include_usage: true },
  });
  let text = "";
  let usage;
  let finish;
  for await (const chunk of stream) {
    expect(chunk.object === "chat.completion.chunk", `object ${chunk.object}`);
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.delta?.content ?? "";
      finish = c.finish_reason ?? finish;
    }
  }
  expect(text === plain, `streamed ${JSON.stringify(text)}, plain ${JSON.stringify(plain)}`);
  expect(usage && usage.completion_tokens >= 1, "no usage chunk");
  expect(finish === "stop" || finish === "length", `finish ${finish}`);
});

await check("the system message and several turns are accepted", async () => {
  const r = await client.chat.completions.create({
    model, max_tokens: 4, temperature: 0,
    messages: [{ role: "system", content: "Be kind." }, { role: "user", content: "Hi" }, { role: "assistant", content: "Hello." }, { role: "user", content: "Help?" }],
  });
  expect(r.choices.length === 1, "not one choice");
});

await check("n choices come back with their indices", async () => {
  const r = await client.chat.completions.create({ model, messages: user("Hi"), max_tokens: 6, temperature: 1, n: 3, seed: 7 });
  expect(JSON.stringify(r.choices.map((c) => c.index)) === "[0,1,2]", `indices ${r.choices.map((c) => c.index)}`);
  expect(r.usage.completion_tokens === 18, `completion tokens ${r.usage.completion_tokens}`);
});

await check("completions.create takes a list of prompts and n, prompt by prompt", async () => {
  const r = await client.completions.create({ model, prompt: ["One", "Two"], max_tokens: 3, temperature: 0, n: 2 });
  expect(r.object === "text_completion", `object ${r.object}`);
  expect(JSON.stringify(r.choices.map((c) => c.index)) === "[0,1,2,3]", `indices ${r.choices.map((c) => c.index)}`);
  expect(r.choices[0].text === r.choices[1].text, "two greedy choices of one prompt differ");
});

await check("completions stream", async () => {
  const stream = await client.completions.create({ model, prompt: "Once", max_tokens: 5, temperature: 0, stream: true });
  let text = "";
  for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
  const whole = await client.completions.create({ model, prompt: "Once", max_tokens: 5, temperature: 0 });
  expect(text === whole.choices[0].text, `streamed ${JSON.stringify(text)}, whole ${JSON.stringify(whole.choices[0].text)}`);
});

await check("embeddings as floats and as base64 (the client's default) agree", async () => {
  const floats = await client.embeddings.create({ model, input: ["kindness", "cruelty"], encoding_format: "float" });
  const decoded = await client.embeddings.create({ model, input: ["kindness", "cruelty"] });
  expect(floats.data.length === 2 && floats.data[1].index === 1, "not two embeddings");
  const a = floats.data[0].embedding;
  const b = decoded.data[0].embedding;
  expect(a.length > 0 && a.length === b.length, `lengths ${a.length} and ${b.length}`);
  expect(a.every((x, i) => Math.abs(x - b[i]) < 1e-6), "base64 and float vectors differ");
  expect(floats.usage.prompt_tokens > 0, "no usage");
});

await check("sampling without a seed differs call to call; with one it repeats", async () => {
  const ask = (seed) => client.completions.create({ model, prompt: "Tell me", max_tokens: 12, temperature: 1, ...(seed === undefined ? {} : { seed }) });
  const [a, b] = [await ask(), await ask()];
  expect(a.choices[0].text !== b.choices[0].text, "two unseeded samples were identical");
  const [c, d] = [await ask(3), await ask(3)];
  expect(c.choices[0].text === d.choices[0].text, "two samples with seed 3 differ");
});

await check("an unknown model is 404 model_not_found", () =>
  refused(() => client.chat.completions.create({ model: "gpt-4o", messages: user("Hi") }), 404, { code: "model_not_found", param: "model" }));

await check("models.retrieve of an unknown id is 404", () => refused(() => client.models.retrieve("no-such-model"), 404, { code: "model_not_found" }));

await check("the Responses API is an OpenAI-shaped 404", () =>
  refused(() => client.responses.create({ model, input: "Hi" }), 404, { code: "unknown_url", type: "invalid_request_error" }));

await check("a wrong key is 401", () =>
  refused(() => new OpenAI({ baseURL, apiKey: "wrong", maxRetries: 0 }).models.list(), 401, { code: "invalid_api_key" }));

for (const [name, extra, param] of [
  ["tools", { tools: [{ type: "function", function: { name: "f", parameters: { type: "object", properties: {} } } }] }, "tools"],
  ["response_format json_object", { response_format: { type: "json_object" } }, "response_format"],
  ["top_logprobs above 20", { logprobs: true, top_logprobs: 21 }, "top_logprobs"],
  ["logit_bias", { logit_bias: { 50: 100 } }, "logit_bias"],
  ["n above 8", { n: 9 }, "n"],
  ["temperature above 2", { temperature: 2.5 }, "temperature"],
]) {
  await check(`chat with ${name} is 400 naming ${param}`, () =>
    refused(() => client.chat.completions.create({ model, messages: user("Hi"), max_tokens: 2, ...extra }), 400, { param, type: "invalid_request_error" }));
}

await check("chat logprobs give each token its log-probability and the top alternatives", async () => {
  const r = await client.chat.completions.create({ model, messages: user("Hi"), max_tokens: 5, temperature: 0, logprobs: true, top_logprobs: 2 });
  const content = r.choices[0].logprobs.content;
  expect(content.length === r.usage.completion_tokens, `${content.length} entries for ${r.usage.completion_tokens} tokens`);
  expect(content.map((t) => t.token).join("") === r.choices[0].message.content, "the tokens do not spell the content");
  expect(content.every((t) => t.logprob <= 0 && t.top_logprobs.length === 2 && t.top_logprobs[0].token === t.token), "a greedy token is not its step's most likely one");
});

await check("completions logprobs in the legacy form", async () => {
  const r = await client.completions.create({ model, prompt: "Hi", max_tokens: 3, temperature: 0, logprobs: 1 });
  const l = r.choices[0].logprobs;
  const n = r.usage.completion_tokens;
  expect(l.tokens.length === n && l.token_logprobs.length === n && l.top_logprobs.length === n && l.text_offset.length === n, `not one entry per token (${l.tokens.length} for ${n})`);
});

await check("completions with echo is 400 naming echo", () =>
  refused(() => client.completions.create({ model, prompt: "Hi", max_tokens: 2, echo: true }), 400, { param: "echo" }));

await check("embeddings with dimensions is 400 naming dimensions", () =>
  refused(() => client.embeddings.create({ model, input: "x", dimensions: 8 }), 400, { param: "dimensions" }));

await check("a prompt longer than the context is 400 with both lengths", async () => {
  const e = await refused(() => client.completions.create({ model, prompt: "a".repeat(5000), max_tokens: 2 }), 400, { param: "prompt" });
  expect(/has \d+ tokens; this model's context is \d+ tokens/.test(e.message), `message: ${e.message}`);
});

console.log(`${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
