// The one error type the SDK produces. It is never thrown into user code: it goes to the
// `onError` option (default: console.warn).

/** What went wrong, stable for programs to switch on. */
export type AgentLogErrorCode =
  /** The queue was full and the oldest items were dropped (reported once per client). */
  | "queue_overflow"
  /** A batch could not be delivered: retries exhausted, a non-retryable answer, or shutdown. */
  | "delivery_failed"
  /** The server stored a batch but refused some of its items as invalid. */
  | "rejected"
  /** A value was changed to be storable (truncated, cycles cut...), or a bad argument ignored. */
  | "invalid_value"
  /** Something was recorded after `shutdown()`; it is ignored. */
  | "closed"
  /** A bug in the SDK, caught before it could reach the caller. */
  | "internal";

export class AgentLogError extends Error {
  override readonly name = "AgentLogError";
  readonly code: AgentLogErrorCode;
  /** HTTP status of the answer, when there was one. */
  readonly status: number | undefined;
  /** How many items this error is about (events and session updates), when it applies. */
  readonly count: number;
  /** Per-item details from the server (`errors` of the ingest answer), when given. */
  readonly details: unknown;

  constructor(
    code: AgentLogErrorCode,
    message: string,
    extra: { status?: number; count?: number; details?: unknown; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.code = code;
    this.status = extra.status;
    this.count = extra.count ?? 0;
    this.details = extra.details;
  }
}
