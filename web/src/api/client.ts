// The one way the dashboard talks to the server: same-origin fetch with the session
// cookie, the CSRF token on writes, and problem+json errors turned into ApiError.
import type { Problem } from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
    /** Seconds from a Retry-After header (429, 503), when the server sent one. */
    readonly retryAfter: number | null = null,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.name = "ApiError";
  }
  /** The stable slug of the problem type, e.g. "forbidden" for urn:agentlog:problem:forbidden. */
  get slug(): string {
    return (this.problem.type ?? "").replace(/^urn:agentlog:problem:/, "");
  }
}

let csrfToken = "";
let onUnauthorized: (() => void) | null = null;

/** The token the server handed out at log-in (or /v1/auth/me); sent on every write. */
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** Called when a request answers 401: the cookie expired or was revoked. */
export function setUnauthorizedHandler(fn: (() => void) | null): void {
  onUnauthorized = fn;
}

export type QueryValue = string | number | boolean | null | undefined;

/** `?a=1&b=x` from the non-empty values, in the order given. */
export function queryString(params: Record<string, QueryValue>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "" || v === false) continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

export interface RequestOptions {
  method?: "GET" | "POST" | "PATCH" | "DELETE";
  body?: unknown;
  signal?: AbortSignal;
  /** Don't trigger the log-in redirect on 401 (the auth calls themselves). */
  allow401?: boolean;
}

export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const method = opts.method ?? "GET";
  const headers: Record<string, string> = { Accept: "application/json" };
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  const init: RequestInit = { method, headers, credentials: "same-origin" };
  if (opts.body !== undefined) init.body = JSON.stringify(opts.body);
  if (opts.signal) init.signal = opts.signal;
  const res = await fetch(path, init);
  if (res.ok) {
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }
  let problem: Problem = { status: res.status, title: res.statusText };
  try {
    problem = { ...problem, ...((await res.json()) as Problem) };
  } catch {
    // Not JSON (a proxy's error page): keep the status line.
  }
  const retry = res.headers.get("Retry-After");
  const err = new ApiError(res.status, problem, retry !== null && /^\d+$/.test(retry) ? Number(retry) : null);
  if (res.status === 401 && !opts.allow401) onUnauthorized?.();
  throw err;
}

export function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === "AbortError";
}
