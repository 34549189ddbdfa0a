// An LLM call as a conversation: one bubble per message with its role, tool calls with
// their results underneath, and a copy button per message.
import type { JSX } from "preact";
import { useMemo } from "preact/hooks";
import { messageText, pairToolCalls, visibleParts, type ChatMessage, type Part, type Pairing } from "../lib/chat";
import { CopyButton } from "./CopyButton";
import { JsonView } from "./JsonView";

export function Chat({ messages }: { messages: ChatMessage[] }): JSX.Element {
  const pairing = useMemo(() => pairToolCalls(messages), [messages]);
  return (
    <div class="chat">
      {messages.map((m, i) => {
        const parts = visibleParts(m, pairing);
        if (parts.length === 0 && m.parts.length > 0) return null; // only results shown under their calls
        return (
          <div key={i} class={`msg msg-${roleClass(m.role)}`} data-role={m.role}>
            <div class="msg-head">
              <span class="msg-role">{m.role}</span>
              {m.name && <span class="msg-name">{m.name}</span>}
              {m.from === "output" && <span class="msg-from">output</span>}
              <CopyButton text={() => messageText(m)} />
            </div>
            {parts.length === 0 ? <div class="msg-empty">(empty)</div> : parts.map((p, j) => <PartView key={j} p={p} pairing={pairing} />)}
          </div>
        );
      })}
    </div>
  );
}

function roleClass(role: string): string {
  return ["system", "user", "assistant", "tool", "developer"].includes(role) ? role : "other";
}

function PartView({ p, pairing }: { p: Part; pairing: Pairing }): JSX.Element {
  switch (p.kind) {
    case "text":
      return <div class={`msg-text${p.label ? " msg-thinking" : ""}`}>{p.label && <span class="msg-label">{p.label}</span>}{p.text}</div>;
    case "image":
      return <div class="msg-image">[image{p.url && !p.url.startsWith("data:") ? `: ${p.url}` : ""}]</div>;
    case "data":
      return <JsonView value={p.value} />;
    case "tool_call": {
      const result = pairing.resultOf.get(p);
      return (
        <div class="tool-call" data-tool-call={p.id ?? p.name}>
          <div class="tool-call-head">
            <span class="tool-icon">⚙</span> <b>{p.name}</b>
            {p.id && <span class="dim mono"> {p.id}</span>}
          </div>
          <Value v={p.args} />
          {result ? (
            <div class={`tool-result${result.isError ? " is-error" : ""}`} data-tool-result={result.id ?? result.name ?? ""}>
              <div class="tool-result-head">↳ result{result.isError ? " (error)" : ""}</div>
              <Value v={result.content} />
            </div>
          ) : (
            <div class="tool-result pending dim">no result in this call</div>
          )}
        </div>
      );
    }
    case "tool_result":
      return (
        <div class={`tool-result${p.isError ? " is-error" : ""}`} data-tool-result={p.id ?? p.name ?? ""}>
          <div class="tool-result-head">
            result{p.name ? ` of ${p.name}` : ""}
            {p.id && <span class="dim mono"> {p.id}</span>}
          </div>
          <Value v={p.content} />
        </div>
      );
  }
}

function Value({ v }: { v: unknown }): JSX.Element {
  // Tool results are often JSON sent as text: show them folded like any JSON.
  const parsed = typeof v === "string" ? parseJsonText(v) : v;
  if (typeof parsed === "string") return <div class="msg-text">{parsed}</div>;
  return <JsonView value={parsed} openDepth={2} />;
}

function parseJsonText(s: string): unknown {
  const t = s.trim();
  if (!(t.startsWith("{") && t.endsWith("}")) && !(t.startsWith("[") && t.endsWith("]"))) return s;
  try {
    return JSON.parse(t) as unknown;
  } catch {
    return s;
  }
}
