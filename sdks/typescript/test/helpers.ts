// A local fake ingest server for transport edge cases (the real server is exercised by
// tests/conformance). It records every request and answers as each test scripts it.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { gunzipSync } from "node:zlib";
import { AgentLog, type AgentLogError, type AgentLogOptions } from "../src/node.js";

export interface WireEvent {
  id: string;
  session_id: string;
  parent_id?: string;
  type: string;
  name?: string;
  agent?: string;
  started_at: number;
  ended_at?: number;
  status?: string;
  input?: unknown;
  output?: unknown;
  error?: { type?: string; message?: string; stack?: string };
  model?: string;
  provider?: string;
  usage?: Record<string, number>;
  cost_usd?: number;
  attributes?: Record<string, unknown>;
  tags?: string[];
  trace_id?: string;
  span_id?: string;
  [key: string]: unknown;
}

export interface WireSession {
  id: string;
  [key: string]: unknown;
}

export interface Received {
  n: number;
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  raw: Buffer;
  body: { events: WireEvent[]; sessions: WireSession[] };
  at: number;
}

/** What the fake answers: a status (+ headers/body), or "destroy" (close without answering), or "hang". */
export type Reply = { status: number; headers?: Record<string, string>; body?: string } | "destroy" | "hang";

export class FakeServer {
  readonly requests: Received[] = [];
  private server: Server;
  private sockets = new Set<Socket>();
  private hung: ServerResponse[] = [];
  url = "";

  constructor(private reply: (req: Received) => Reply = () => FakeServer.ok()) {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
  }

  static ok(): Reply {
    return { status: 200, headers: { "Content-Type": "application/json" } };
  }

  /** Listens on 127.0.0.1 (a free port by default). */
  async start(port = 0): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(port, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  setReply(reply: (req: Received) => Reply): void {
    this.reply = reply;
  }

  /** Every event received, in arrival order (duplicates included). */
  get events(): WireEvent[] {
    return this.requests.flatMap((r) => r.body.events);
  }

  get sessions(): WireSession[] {
    return this.requests.flatMap((r) => r.body.sessions);
  }

  /** The last version of each event by id (what the real server would keep). */
  get stored(): Map<string, WireEvent> {
    const m = new Map<string, WireEvent>();
    for (const e of this.events) m.set(e.id, e);
    return m;
  }

  async close(): Promise<void> {
    for (const res of this.hung) res.destroy();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const text = req.headers["content-encoding"] === "gzip" ? gunzipSync(raw).toString("utf8") : raw.toString("utf8");
      const body = JSON.parse(text) as Received["body"];
      const received: Received = {
        n: this.requests.length,
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        raw,
        body,
        at: Date.now(),
      };
      this.requests.push(received);
      const reply = this.reply(received);
      if (reply === "destroy") {
        req.socket.destroy();
        return;
      }
      if (reply === "hang") {
        this.hung.push(res);
        return;
      }
      const count = body.events.length + body.sessions.length;
      const answer = reply.body ?? JSON.stringify({ accepted: count, rejected: 0, errors: [], ids: body.events.map((e) => e.id) });
      res.writeHead(reply.status, { "Content-Type": "application/json", ...reply.headers });
      res.end(answer);
    });
  }
}

/** A client for the fake server with fast retries and errors collected instead of printed. */
export function client(server: FakeServer, options: AgentLogOptions = {}): { client: AgentLog; errors: AgentLogError[] } {
  const errors: AgentLogError[] = [];
  const c = new AgentLog({
    url: server.url,
    apiKey: "test-key",
    retryInitialDelayMs: 10,
    retryMaxDelayMs: 100,
    flushOnExit: false,
    onError: (e) => errors.push(e),
    ...options,
  });
  return { client: c, errors };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until `cond()` holds (polling), failing after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
