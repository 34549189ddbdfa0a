// The event inspector: what one event was — timing, model, tokens, cost, error — its
// conversation when it is an LLM call, and its input, output and attributes as folded,
// searchable JSON.
import type { JSX } from "preact";
import { useMemo, useState } from "preact/hooks";
import type { AgentEvent } from "../api/types";
import { extractChat } from "../lib/chat";
import type { Item } from "../lib/events";
import { formatCost, formatCount, formatDuration, formatOffset, formatTime } from "../lib/format";
import { sessionPath } from "../lib/router";
import { StatusBadge, TypeBadge } from "./bits";
import { Chat } from "./Chat";
import { CopyButton } from "./CopyButton";
import { JsonView } from "./JsonView";

export interface InspectorProps {
  item: Item;
  origin: number;
  parentName: string | null;
  onSelect: (id: string) => void;
  onClose: () => void;
}

export function Inspector({ item, origin, parentName, onSelect, onClose }: InspectorProps): JSX.Element {
  const ev = item.ev;
  const [filter, setFilter] = useState("");
  const chat = useMemo(() => (ev.type === "llm" || ev.type === "message" ? extractChat(ev.input, ev.output) : null), [ev]);
  const [tab, setTab] = useState<"chat" | "json">("chat");
  const showChat = chat !== null && chat.length > 0 && tab === "chat";
  const link = () => window.location.origin + sessionPath(ev.session_id, ev.id);
  return (
    <aside class="inspector" data-testid="inspector" data-event-id={ev.id} aria-label="Event inspector">
      <div class="insp-head">
        <TypeBadge type={ev.type} />
        <h3 class="ellipsis" title={ev.name ?? ""}>
          {ev.name ?? ev.type}
        </h3>
        <StatusBadge status={ev.status} />
        <span class="spacer" />
        <CopyButton text={link} label="Link" title="Copy a link to this event" />
        <button class="icon" aria-label="Close inspector (Esc)" title="Close (Esc)" onClick={onClose}>
          ✕
        </button>
      </div>
      <div class="insp-body">
        <dl class="facts">
          <Fact k="Start">
            {formatOffset(item.start - origin)} <span class="dim">· {formatTime(ev.started_at)}</span>
          </Fact>
          <Fact k="Latency">{item.end !== null ? formatDuration(item.end - item.start) : <span class="dim">running</span>}</Fact>
          {ev.model && <Fact k="Model">{ev.model}</Fact>}
          {ev.provider && <Fact k="Provider">{ev.provider}</Fact>}
          {ev.usage && (
            <Fact k="Tokens">
              <span data-testid="tokens">
                {formatCount(ev.usage.input_tokens)} in · {formatCount(ev.usage.output_tokens)} out · {formatCount(ev.usage.total_tokens)} total
                {ev.usage.cached_tokens ? ` · ${formatCount(ev.usage.cached_tokens)} cached` : ""}
              </span>
            </Fact>
          )}
          {ev.cost_usd !== null && <Fact k="Cost">{formatCost(ev.cost_usd)}</Fact>}
          {ev.agent && <Fact k="Agent">{ev.agent}</Fact>}
          <Fact k="Id">
            <span class="mono">{ev.id}</span> <CopyButton text={ev.id} />
          </Fact>
          {ev.parent_id && (
            <Fact k="Parent">
              <button class="link" onClick={() => onSelect(ev.parent_id!)}>
                {parentName ?? ev.parent_id}
              </button>
            </Fact>
          )}
          {ev.trace_id && (
            <Fact k="Trace">
              <span class="mono">{ev.trace_id}</span>
              {ev.span_id && <span class="mono dim"> / {ev.span_id}</span>}
            </Fact>
          )}
          {ev.tags.length > 0 && (
            <Fact k="Tags">
              {ev.tags.map((t) => (
                <span key={t} class="tag">
                  {t}
                </span>
              ))}
            </Fact>
          )}
        </dl>
        {ev.error && <ErrorBlock ev={ev} />}
        {chat !== null && chat.length > 0 && (
          <div class="tabs small" role="tablist">
            <button role="tab" aria-selected={tab === "chat"} class={tab === "chat" ? "active" : ""} onClick={() => setTab("chat")}>
              Conversation
            </button>
            <button role="tab" aria-selected={tab === "json"} class={tab === "json" ? "active" : ""} onClick={() => setTab("json")}>
              JSON
            </button>
          </div>
        )}
        {showChat ? (
          <Chat messages={chat} />
        ) : (
          <>
            <input
              type="search"
              class="json-filter"
              placeholder="Filter input, output and attributes…"
              aria-label="Filter JSON"
              value={filter}
              onInput={(e) => setFilter(e.currentTarget.value)}
            />
            <Section title="Input" value={ev.input} filter={filter} />
            <Section title="Output" value={ev.output} filter={filter} />
            {Object.keys(ev.attributes).length > 0 && <Section title="Attributes" value={ev.attributes} filter={filter} />}
          </>
        )}
      </div>
    </aside>
  );
}

function Fact({ k, children }: { k: string; children: JSX.Element | JSX.Element[] | string | (string | JSX.Element | null | false)[] }): JSX.Element {
  return (
    <>
      <dt>{k}</dt>
      <dd>{children}</dd>
    </>
  );
}

function ErrorBlock({ ev }: { ev: AgentEvent }): JSX.Element {
  const e = ev.error!;
  const text = [e.type, e.message, e.stack].filter(Boolean).join("\n");
  return (
    <div class="error-block" role="note">
      <div class="error-title">
        <b>{e.type ?? "Error"}</b>
        {e.message && <span>: {e.message}</span>}
        <CopyButton text={text} />
      </div>
      {e.stack && <pre class="stack">{e.stack}</pre>}
    </div>
  );
}

function Section({ title, value, filter }: { title: string; value: unknown; filter: string }): JSX.Element {
  return (
    <section class="json-section" data-section={title.toLowerCase()}>
      <div class="section-head">
        <span>{title}</span>
        {value !== null && value !== undefined && <CopyButton text={() => JSON.stringify(value, null, 2)} />}
      </div>
      {value === null || value === undefined ? <div class="dim small">none</div> : <JsonView value={value} filter={filter} openDepth={2} />}
    </section>
  );
}
