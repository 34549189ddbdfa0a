// The shapes of the public API's JSON (docs/api.md, api/openapi.yaml). Only what the
// dashboard reads is typed; everything else stays `unknown`.

export type EventType =
  | "agent" | "step" | "llm" | "tool" | "retrieval" | "embedding"
  | "message" | "action" | "error" | "log" | "custom";

export const EVENT_TYPES: readonly EventType[] = [
  "agent", "step", "llm", "tool", "retrieval", "embedding", "message", "action", "error", "log", "custom",
];

export type EventStatus = "ok" | "error" | "running";
export const EVENT_STATUSES: readonly EventStatus[] = ["ok", "error", "running"];
export type SessionStatus = "running" | "success" | "failure" | "cancelled";
export const SESSION_STATUSES: readonly SessionStatus[] = ["running", "success", "failure", "cancelled"];

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cached_tokens: number;
}

export interface AgentEvent {
  id: string;
  session_id: string;
  parent_id: string | null;
  trace_id: string | null;
  span_id: string | null;
  type: EventType;
  name: string | null;
  agent: string | null;
  started_at: string;
  ended_at: string | null;
  duration_ms: number | null;
  status: EventStatus;
  input: unknown;
  output: unknown;
  error: { type: string | null; message: string | null; stack: string | null } | null;
  model: string | null;
  provider: string | null;
  usage: Usage | null;
  cost_usd: number | null;
  attributes: Record<string, unknown>;
  tags: string[];
  /** The server's arrival order; a re-sent event gets a new, larger one. */
  seq?: number;
}

export interface Session {
  id: string;
  name: string | null;
  agent: string | null;
  user_id: string | null;
  tags: string[];
  metadata: Record<string, unknown>;
  status: SessionStatus;
  started_at: string | null;
  ended_at: string | null;
  last_event_at: string | null;
  duration_ms: number | null;
  event_count: number;
  error_count: number;
  llm_count: number;
  tool_count: number;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cost_usd: number;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export type Role = "admin" | "member" | "viewer";

export interface Me {
  user: { id: number; email: string; role: Role };
  csrf_token: string;
  project: { id: number; name: string };
}

export interface AgentStats {
  agent: string | null;
  sessions: number;
  running_sessions: number;
  failed_sessions: number;
  events: number;
  errors: number;
  error_rate: number;
  llm_calls: number;
  tool_calls: number;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cost_usd: number;
  p50_duration_ms: number | null;
  p95_duration_ms: number | null;
  last_seen_at: string | null;
}

export interface TimeSeries {
  step_seconds: number;
  t: number[];
  series: {
    agent: string | null;
    events: number[];
    errors: number[];
    cost_usd: number[];
    total_tokens: number[];
  }[];
}

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
}
