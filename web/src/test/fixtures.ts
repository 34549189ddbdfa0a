// Builders for test data in the API's shapes.
import type { AgentEvent, Session } from "../api/types";

let n = 0;
const iso = (ms: number) => new Date(ms).toISOString().replace("Z", "000Z");
export const T0 = Date.parse("2026-11-25T10:00:00Z");

export function ev(p: Partial<AgentEvent> & { at?: number; dur?: number | null } = {}): AgentEvent {
  const { at = 0, dur = 10, ...rest } = p;
  const id = rest.id ?? `e${++n}`;
  return {
    id,
    session_id: "s1",
    parent_id: null,
    trace_id: null,
    span_id: null,
    type: "step",
    name: id,
    agent: "planner",
    started_at: iso(T0 + at),
    ended_at: dur === null ? null : iso(T0 + at + dur),
    duration_ms: dur,
    status: dur === null ? "running" : "ok",
    input: null,
    output: null,
    error: null,
    model: null,
    provider: null,
    usage: null,
    cost_usd: null,
    attributes: {},
    tags: [],
    ...rest,
  };
}

export function session(p: Partial<Session> & { at?: number } = {}): Session {
  const { at = 0, ...rest } = p;
  return {
    id: rest.id ?? `s${++n}`,
    name: null,
    agent: "planner",
    user_id: null,
    tags: [],
    metadata: {},
    status: "running",
    started_at: iso(T0 + at),
    ended_at: null,
    last_event_at: null,
    duration_ms: null,
    event_count: 0,
    error_count: 0,
    llm_count: 0,
    tool_count: 0,
    input_tokens: 0,
    output_tokens: 0,
    total_tokens: 0,
    cost_usd: 0,
    ...rest,
  };
}
