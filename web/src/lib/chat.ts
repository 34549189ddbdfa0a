// Turning an LLM event's input and output into a conversation. SDKs and OTLP mappings
// record whatever the provider's API took and returned, so this accepts the common shapes:
// OpenAI chat (`messages`, `choices`, `tool_calls`, role "tool"), OpenAI Responses
// (`input`/`output` items, `function_call`), Anthropic (content blocks, `tool_use`,
// `tool_result`, top-level `system`), Gemini (`contents`/`parts`, `candidates`), and plain
// strings. Anything else is left to the JSON view.

export type Part =
  | { kind: "text"; text: string; label?: "thinking" }
  | { kind: "tool_call"; id: string | null; name: string; args: unknown }
  | { kind: "tool_result"; id: string | null; name: string | null; content: unknown; isError: boolean }
  | { kind: "image"; url: string | null }
  | { kind: "data"; value: unknown };

export type ToolCall = Extract<Part, { kind: "tool_call" }>;
export type ToolResult = Extract<Part, { kind: "tool_result" }>;

export interface ChatMessage {
  role: string;
  name: string | null;
  parts: Part[];
  /** Which side of the event it came from. */
  from: "input" | "output";
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === "object" && x !== null && !Array.isArray(x);
const str = (x: unknown): string | null => (typeof x === "string" ? x : null);

/** The conversation in an event's input followed by its output, or null if neither looks like one. */
export function extractChat(input: unknown, output: unknown): ChatMessage[] | null {
  const a = fromInput(input);
  const b = fromOutput(output);
  if (a === null && b === null) return null;
  return [...(a ?? []), ...(b ?? [])];
}

function fromInput(x: unknown): ChatMessage[] | null {
  if (typeof x === "string") return [textMessage("user", x, "input")];
  if (Array.isArray(x)) return messageList(x, "input");
  if (!isObj(x)) return null;
  const out: ChatMessage[] = [];
  // System prompts that live beside the messages (Anthropic `system`, Responses
  // `instructions`, Gemini `systemInstruction`).
  const system = x.system ?? x.instructions;
  if (system !== undefined && system !== null) {
    const parts = contentParts(system);
    if (parts.length) out.push({ role: "system", name: null, parts, from: "input" });
  }
  const gemSystem = x.systemInstruction ?? x.system_instruction;
  if (isObj(gemSystem) && Array.isArray(gemSystem.parts)) {
    out.push({ role: "system", name: null, parts: geminiParts(gemSystem.parts), from: "input" });
  }
  const list = x.messages ?? x.contents ?? x.input;
  if (typeof list === "string") return [...out, textMessage("user", list, "input")];
  if (Array.isArray(list)) {
    const msgs = messageList(list, "input");
    if (msgs) return [...out, ...msgs];
  }
  if (typeof x.prompt === "string") return [...out, textMessage("user", x.prompt, "input")];
  if (Array.isArray(x.prompt) && x.prompt.every((p) => typeof p === "string")) {
    return [...out, ...x.prompt.map((p) => textMessage("user", p as string, "input"))];
  }
  return out.length ? out : null;
}

function fromOutput(x: unknown): ChatMessage[] | null {
  if (typeof x === "string") return [textMessage("assistant", x, "output")];
  if (Array.isArray(x)) return messageList(x, "output");
  if (!isObj(x)) return null;
  if (Array.isArray(x.choices)) {
    const out: ChatMessage[] = [];
    for (const c of x.choices) {
      if (!isObj(c)) continue;
      if (isObj(c.message)) out.push(message(c.message, "output"));
      else if (isObj(c.delta)) out.push(message(c.delta, "output"));
      else if (typeof c.text === "string") out.push(textMessage("assistant", c.text, "output"));
    }
    return out.length ? out : null;
  }
  if (Array.isArray(x.candidates)) {
    const out: ChatMessage[] = [];
    for (const c of x.candidates) if (isObj(c) && isObj(c.content)) out.push(message(c.content, "output"));
    return out.length ? out : null;
  }
  if (Array.isArray(x.output)) return messageList(x.output, "output");
  if (isObj(x.message)) return [message(x.message, "output")];
  if ("role" in x || "tool_calls" in x || "content" in x || "parts" in x || x.type === "message") {
    return [message(x, "output")];
  }
  for (const key of ["output_text", "text", "completion", "answer", "response"]) {
    const s = str(x[key]);
    if (s !== null) return [textMessage("assistant", s, "output")];
  }
  return null;
}

/** A list is a conversation only if every item looks like a message or an item of one. */
function messageList(list: unknown[], from: ChatMessage["from"]): ChatMessage[] | null {
  if (list.length === 0) return null;
  const looksLikeMessage = (m: unknown) =>
    typeof m === "string" ||
    (isObj(m) && ("role" in m || "parts" in m || m.type === "function_call" || m.type === "function_call_output" || m.type === "message"));
  if (!list.every(looksLikeMessage)) return null;
  return list.map((m) =>
    typeof m === "string" ? textMessage(from === "input" ? "user" : "assistant", m, from) : message(m as Obj, from),
  );
}

function textMessage(role: string, text: string, from: ChatMessage["from"]): ChatMessage {
  return { role, name: null, parts: [{ kind: "text", text }], from };
}

function message(m: Obj, from: ChatMessage["from"]): ChatMessage {
  // OpenAI Responses items.
  if (m.type === "function_call") {
    return {
      role: "assistant",
      name: null,
      parts: [{ kind: "tool_call", id: str(m.call_id) ?? str(m.id), name: str(m.name) ?? "?", args: parseArgs(m.arguments) }],
      from,
    };
  }
  if (m.type === "function_call_output") {
    return {
      role: "tool",
      name: null,
      parts: [{ kind: "tool_result", id: str(m.call_id), name: null, content: resultContent(m.output), isError: false }],
      from,
    };
  }
  let role = str(m.role) ?? (from === "output" ? "assistant" : "user");
  if (role === "model") role = "assistant"; // Gemini
  const name = str(m.name);
  const parts: Part[] = [];
  if (role === "tool" || role === "function" || role === "ipython") {
    parts.push({
      kind: "tool_result",
      id: str(m.tool_call_id),
      name,
      content: resultContent(m.content),
      isError: m.is_error === true,
    });
    return { role: "tool", name, parts, from };
  }
  if (Array.isArray(m.parts)) parts.push(...geminiParts(m.parts));
  else if (m.content !== undefined && m.content !== null) parts.push(...contentParts(m.content));
  if (typeof m.reasoning_content === "string") parts.unshift({ kind: "text", text: m.reasoning_content, label: "thinking" });
  if (Array.isArray(m.tool_calls)) {
    for (const tc of m.tool_calls) {
      if (!isObj(tc)) continue;
      const fn = isObj(tc.function) ? tc.function : tc;
      parts.push({ kind: "tool_call", id: str(tc.id), name: str(fn.name) ?? "?", args: parseArgs(fn.arguments ?? fn.args) });
    }
  }
  if (isObj(m.function_call)) {
    parts.push({ kind: "tool_call", id: null, name: str(m.function_call.name) ?? "?", args: parseArgs(m.function_call.arguments) });
  }
  return { role, name, parts, from };
}

/** Content that is a string, one block, or a list of blocks (Anthropic, OpenAI multimodal). */
function contentParts(c: unknown): Part[] {
  if (typeof c === "string") return c === "" ? [] : [{ kind: "text", text: c }];
  const blocks = Array.isArray(c) ? c : [c];
  const out: Part[] = [];
  for (const b of blocks) {
    if (typeof b === "string") {
      out.push({ kind: "text", text: b });
      continue;
    }
    if (!isObj(b)) {
      out.push({ kind: "data", value: b });
      continue;
    }
    switch (b.type) {
      case "text":
      case "input_text":
      case "output_text":
        out.push({ kind: "text", text: str(b.text) ?? "" });
        break;
      case "thinking":
        out.push({ kind: "text", text: str(b.thinking) ?? "", label: "thinking" });
        break;
      case "image_url": {
        const u = isObj(b.image_url) ? str(b.image_url.url) : str(b.image_url);
        out.push({ kind: "image", url: u });
        break;
      }
      case "image":
      case "input_image": {
        const src = isObj(b.source) ? b.source : {};
        out.push({ kind: "image", url: str(b.image_url) ?? str(src.url) });
        break;
      }
      case "tool_use":
        out.push({ kind: "tool_call", id: str(b.id), name: str(b.name) ?? "?", args: b.input ?? null });
        break;
      case "tool_result":
        out.push({
          kind: "tool_result",
          id: str(b.tool_use_id),
          name: null,
          content: resultContent(b.content),
          isError: b.is_error === true,
        });
        break;
      default:
        if (b.type === undefined && typeof b.text === "string") out.push({ kind: "text", text: b.text });
        else out.push({ kind: "data", value: b });
    }
  }
  return out;
}

function geminiParts(parts: unknown[]): Part[] {
  const out: Part[] = [];
  for (const p of parts) {
    if (!isObj(p)) continue;
    if (typeof p.text === "string") out.push({ kind: "text", text: p.text, ...(p.thought === true ? { label: "thinking" as const } : {}) });
    else if (isObj(p.functionCall)) {
      out.push({ kind: "tool_call", id: str(p.functionCall.id), name: str(p.functionCall.name) ?? "?", args: p.functionCall.args ?? null });
    } else if (isObj(p.functionResponse)) {
      out.push({
        kind: "tool_result",
        id: str(p.functionResponse.id),
        name: str(p.functionResponse.name),
        content: p.functionResponse.response ?? null,
        isError: false,
      });
    } else out.push({ kind: "data", value: p });
  }
  return out;
}

/** A tool result's content: text blocks joined into a string, anything else as is. */
function resultContent(c: unknown): unknown {
  if (Array.isArray(c) && c.every((b) => isObj(b) && (b.type === "text" || b.type === "output_text") && typeof b.text === "string")) {
    return (c as Obj[]).map((b) => b.text as string).join("\n");
  }
  return c ?? null;
}

/** Tool arguments arrive as a JSON string (OpenAI) or an object (Anthropic, Gemini). */
export function parseArgs(a: unknown): unknown {
  if (typeof a !== "string") return a ?? null;
  try {
    return JSON.parse(a);
  } catch {
    return a;
  }
}

export interface Pairing {
  /** For each tool call, its result when the conversation has one. */
  resultOf: Map<ToolCall, ToolResult>;
  /** Results shown under their call (and so not again on their own). */
  paired: Set<ToolResult>;
}

/**
 * Pairs tool calls with their results: by id (tool_call_id, tool_use_id, call_id), or —
 * for id-less legacy function calls — with the next result of the same name.
 */
export function pairToolCalls(messages: readonly ChatMessage[]): Pairing {
  const byId = new Map<string, ToolCall>();
  const byName = new Map<string, ToolCall[]>();
  const resultOf = new Map<ToolCall, ToolResult>();
  const paired = new Set<ToolResult>();
  for (const m of messages) {
    for (const p of m.parts) {
      if (p.kind === "tool_call") {
        if (p.id !== null) byId.set(p.id, p);
        else {
          const q = byName.get(p.name) ?? [];
          q.push(p);
          byName.set(p.name, q);
        }
      } else if (p.kind === "tool_result") {
        let call: ToolCall | undefined;
        if (p.id !== null) {
          call = byId.get(p.id);
          if (call) byId.delete(p.id);
        } else if (p.name !== null) {
          call = byName.get(p.name)?.shift();
        }
        if (call && !resultOf.has(call)) {
          resultOf.set(call, p);
          paired.add(p);
        }
      }
    }
  }
  return { resultOf, paired };
}

/** A message is drawn unless every part of it is a result already shown under its call. */
export function visibleParts(m: ChatMessage, pairing: Pairing): Part[] {
  return m.parts.filter((p) => !(p.kind === "tool_result" && pairing.paired.has(p)));
}

/** Plain text of a message, for the copy button. */
export function messageText(m: ChatMessage): string {
  return m.parts
    .map((p) => {
      switch (p.kind) {
        case "text":
          return p.text;
        case "tool_call":
          return `${p.name}(${JSON.stringify(p.args)})`;
        case "tool_result":
          return typeof p.content === "string" ? p.content : JSON.stringify(p.content, null, 2);
        case "image":
          return p.url ?? "[image]";
        case "data":
          return JSON.stringify(p.value, null, 2);
      }
    })
    .join("\n\n");
}
