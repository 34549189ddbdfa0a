// Everything both entry points export besides the runtime-bound `AgentLog` class.

export { AgentLogBase, Session, Span } from "./client.js";
export { AgentLogError, type AgentLogErrorCode } from "./errors.js";
export type {
  AgentLogOptions,
  AgentLogStats,
  ErrorInfo,
  EventFields,
  EventStatus,
  EventType,
  FetchInit,
  FetchLike,
  FetchResponseLike,
  LlmFields,
  SessionEnd,
  SessionOptions,
  SessionStatus,
  SessionUpdate,
  SpanOptions,
  SpanUpdate,
  TimeInput,
  ToolFields,
  Usage,
} from "./types.js";
export { VERSION } from "./version.js";
