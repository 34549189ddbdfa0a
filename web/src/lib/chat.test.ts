import { describe, expect, it } from "vitest";
import { extractChat, messageText, pairToolCalls, visibleParts, type ChatMessage } from "./chat";

const roles = (m: ChatMessage[] | null) => m?.map((x) => x.role);
const texts = (m: ChatMessage[] | null) => m?.map((x) => x.parts.map((p) => (p.kind === "text" ? p.text : p.kind)).join("|"));

describe("extractChat", () => {
  it("reads OpenAI chat input and a choices output", () => {
    const m = extractChat(
      { model: "gpt-4o", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }] },
      { choices: [{ index: 0, message: { role: "assistant", content: "Hello!" } }] },
    );
    expect(roles(m)).toEqual(["system", "user", "assistant"]);
    expect(texts(m)).toEqual(["Be brief.", "Hi", "Hello!"]);
    expect(m![2]!.from).toBe("output");
  });

  it("reads the demo data's {content} output", () => {
    const m = extractChat({ messages: [{ role: "user", content: "Plan" }] }, { content: "I will call web_search next." });
    expect(roles(m)).toEqual(["user", "assistant"]);
    expect(texts(m)![1]).toBe("I will call web_search next.");
  });

  it("accepts a bare array of messages and plain strings", () => {
    expect(roles(extractChat([{ role: "user", content: "Find a flight" }], "Found one"))).toEqual(["user", "assistant"]);
    expect(texts(extractChat("prompt text", null))).toEqual(["prompt text"]);
    expect(texts(extractChat({ prompt: "Complete this" }, { text: "done" }))).toEqual(["Complete this", "done"]);
  });

  it("reads OpenAI multimodal content parts", () => {
    const m = extractChat(
      { messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: "https://x/y.png" } }] }] },
      null,
    );
    expect(m![0]!.parts).toEqual([
      { kind: "text", text: "What is this?" },
      { kind: "image", url: "https://x/y.png" },
    ]);
  });

  it("reads OpenAI tool calls with JSON-string arguments and tool messages", () => {
    const m = extractChat(
      {
        messages: [
          { role: "user", content: "Weather in Paris?" },
          { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
          { role: "tool", tool_call_id: "call_1", content: '{"temp":18}' },
        ],
      },
      { choices: [{ message: { role: "assistant", content: "18 °C in Paris." } }] },
    )!;
    expect(m[1]!.parts).toEqual([{ kind: "tool_call", id: "call_1", name: "get_weather", args: { city: "Paris" } }]);
    expect(m[2]!.parts).toEqual([{ kind: "tool_result", id: "call_1", name: null, content: '{"temp":18}', isError: false }]);
  });

  it("keeps unparseable arguments as the raw string", () => {
    const m = extractChat(null, { role: "assistant", tool_calls: [{ id: "c", function: { name: "f", arguments: "{not json" } }] })!;
    expect(m[0]!.parts[0]).toMatchObject({ kind: "tool_call", args: "{not json" });
  });

  it("reads Anthropic content blocks, top-level system, tool_use and tool_result", () => {
    const m = extractChat(
      {
        system: "You are terse.",
        messages: [
          { role: "user", content: "Weather?" },
          { role: "assistant", content: [{ type: "thinking", thinking: "need a tool" }, { type: "tool_use", id: "toolu_1", name: "weather", input: { city: "Oslo" } }] },
          { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "text", text: "-3 °C" }], is_error: false }] },
        ],
      },
      { id: "msg_1", type: "message", role: "assistant", content: [{ type: "text", text: "It is -3 °C." }], stop_reason: "end_turn" },
    )!;
    expect(roles(m)).toEqual(["system", "user", "assistant", "user", "assistant"]);
    expect(m[2]!.parts).toEqual([
      { kind: "text", text: "need a tool", label: "thinking" },
      { kind: "tool_call", id: "toolu_1", name: "weather", args: { city: "Oslo" } },
    ]);
    expect(m[3]!.parts).toEqual([{ kind: "tool_result", id: "toolu_1", name: null, content: "-3 °C", isError: false }]);
    expect(texts(m)![4]).toBe("It is -3 °C.");
  });

  it("reads OpenAI Responses items", () => {
    const m = extractChat(
      { instructions: "Be nice", input: [{ role: "user", content: [{ type: "input_text", text: "Add 2+2" }] }] },
      { output: [{ type: "function_call", call_id: "fc_1", name: "add", arguments: '{"a":2,"b":2}' }, { type: "message", role: "assistant", content: [{ type: "output_text", text: "4" }] }] },
    )!;
    expect(roles(m)).toEqual(["system", "user", "assistant", "assistant"]);
    expect(m[2]!.parts[0]).toEqual({ kind: "tool_call", id: "fc_1", name: "add", args: { a: 2, b: 2 } });
    expect(texts(m)![3]).toBe("4");
  });

  it("reads Gemini contents and candidates", () => {
    const m = extractChat(
      { contents: [{ role: "user", parts: [{ text: "Hi" }] }, { role: "model", parts: [{ functionCall: { name: "lookup", args: { q: "x" } } }] }, { role: "user", parts: [{ functionResponse: { name: "lookup", response: { r: 1 } } }] }] },
      { candidates: [{ content: { role: "model", parts: [{ text: "Done" }] } }] },
    )!;
    expect(roles(m)).toEqual(["user", "assistant", "user", "assistant"]);
    expect(m[1]!.parts[0]).toEqual({ kind: "tool_call", id: null, name: "lookup", args: { q: "x" } });
    expect(m[2]!.parts[0]).toMatchObject({ kind: "tool_result", name: "lookup", content: { r: 1 } });
  });

  it("returns null for payloads that are not conversations", () => {
    expect(extractChat({ query: "vector db" }, { result: "3 hits" })).toBeNull();
    expect(extractChat(null, null)).toBeNull();
    expect(extractChat([1, 2, 3], 42)).toBeNull();
  });

  it("keeps unknown blocks as data instead of dropping them", () => {
    const m = extractChat({ messages: [{ role: "user", content: [{ type: "audio", data: "..." }] }] }, null)!;
    expect(m[0]!.parts[0]).toEqual({ kind: "data", value: { type: "audio", data: "..." } });
  });
});

describe("pairToolCalls", () => {
  it("pairs calls and results by id, across messages and out of order", () => {
    const m = extractChat({
      messages: [
        { role: "assistant", tool_calls: [
          { id: "a", function: { name: "f", arguments: "{}" } },
          { id: "b", function: { name: "g", arguments: "{}" } },
        ] },
        { role: "tool", tool_call_id: "b", content: "B" },
        { role: "tool", tool_call_id: "a", content: "A" },
      ],
    }, null)!;
    const p = pairToolCalls(m);
    const [ca, cb] = m[0]!.parts;
    expect(p.resultOf.get(ca as never)).toMatchObject({ content: "A" });
    expect(p.resultOf.get(cb as never)).toMatchObject({ content: "B" });
    // Both result messages are shown under their calls, so they vanish from the flow.
    expect(visibleParts(m[1]!, p)).toEqual([]);
    expect(visibleParts(m[2]!, p)).toEqual([]);
  });

  it("leaves results without a matching call visible", () => {
    const m = extractChat({ messages: [{ role: "tool", tool_call_id: "zzz", content: "orphan" }] }, null)!;
    const p = pairToolCalls(m);
    expect(p.paired.size).toBe(0);
    expect(visibleParts(m[0]!, p)).toHaveLength(1);
  });

  it("pairs id-less legacy function calls with the next result of the same name", () => {
    const m = extractChat({
      messages: [
        { role: "assistant", content: null, function_call: { name: "search", arguments: '{"q":1}' } },
        { role: "function", name: "search", content: "first" },
        { role: "assistant", content: null, function_call: { name: "search", arguments: '{"q":2}' } },
        { role: "function", name: "search", content: "second" },
      ],
    }, null)!;
    const p = pairToolCalls(m);
    expect(p.resultOf.get(m[0]!.parts[0] as never)).toMatchObject({ content: "first" });
    expect(p.resultOf.get(m[2]!.parts[0] as never)).toMatchObject({ content: "second" });
  });
});

describe("messageText", () => {
  it("renders text, tool calls and results as plain text", () => {
    const m = extractChat(null, { role: "assistant", content: "Let me check.", tool_calls: [{ id: "x", function: { name: "f", arguments: '{"a":1}' } }] })!;
    expect(messageText(m[0]!)).toBe('Let me check.\n\nf({"a":1})');
  });
});
