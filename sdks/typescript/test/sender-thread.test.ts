// Node's sender thread: batches are delivered there and none on the main thread; counters and
// reports come back exact; and the sender on the main thread takes over where the thread cannot
// start, ends mid-batch, or cannot be used (a custom fetch).

import { afterEach, describe, expect, it } from "vitest";
import { AgentLogBase } from "../src/client.js";
import type { AgentLogError } from "../src/errors.js";
import { nodePlatform } from "../src/platform-node.js";
import type { Platform, SenderHost } from "../src/platform.js";
import type { BatchSender } from "../src/sender.js";
import { senderThreadFrom } from "../src/sender-thread.js";
import type { AgentLogOptions, AgentLogStats } from "../src/types.js";
import { FakeServer, until, type Reply } from "./helpers.js";

// Under vitest the entry is TypeScript, which the test processes can run (vitest.config.ts).
const entry = new URL("../src/sender-worker.js", import.meta.url);

let server: FakeServer;
const clients: AgentLogBase[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.shutdown({ timeoutMs: 200 });
  await server?.close();
});

interface Made {
  client: AgentLogBase;
  errors: { error: AgentLogError; stats: AgentLogStats }[];
  /** Batches the sender on the main thread was given. */
  here: { batches: number };
  /** Clients that asked for the thread. */
  opened: { count: number };
}

/** A client whose platform starts its sender thread from `file`, counting what the main thread delivers. */
function make(file: string | URL, options: AgentLogOptions = {}): Made {
  const here = { batches: 0 };
  const opened = { count: 0 };
  const start = senderThreadFrom(file);
  const platform: Platform = {
    ...nodePlatform(),
    senderThread: (config, host: SenderHost) => {
      opened.count++;
      const fallback = host.fallback;
      const counting: BatchSender = {
        deliver: (batch) => {
          here.batches++;
          return fallback.deliver(batch);
        },
        stop: () => fallback.stop(),
        setHeld: (held) => fallback.setHeld(held),
      };
      return start(config, { ...host, fallback: counting });
    },
  };
  const errors: Made["errors"] = [];
  const client: AgentLogBase = new AgentLogBase(
    {
      url: server.url,
      apiKey: "test-key",
      retryInitialDelayMs: 10,
      retryMaxDelayMs: 50,
      flushOnExit: false,
      // stats() as user code sees it from onError: the report's items already counted
      onError: (error) => errors.push({ error, stats: client.stats() }),
      ...options,
    },
    platform,
  );
  clients.push(client);
  return { client, errors, here, opened };
}

/** 503, 503, a 413 split, a partial refusal, then 200s; one refused item per 422. */
function scripted(): (req: FakeServer["requests"][number]) => Reply {
  return (req) => {
    if (req.n === 1 || req.n === 2) return { status: 503 };
    if (req.n === 4) return { status: 413 };
    const count = req.body.events.length + req.body.sessions.length;
    if (req.n === 6) return { status: 200, body: JSON.stringify({ accepted: count - 1, rejected: 1, errors: [{ item: "event", index: 0, field: "name", message: "bad" }] }) };
    return FakeServer.ok();
  };
}

async function deliverMany(made: Made): Promise<string[]> {
  const ids = Array.from({ length: 3000 }, (_, i) => `t-${i}`);
  const pad = "p".repeat(600);
  for (let i = 0; i < ids.length; i++) {
    made.client.log({ id: ids[i], sessionId: "s", input: i % 1000 === 0 ? "é🚀".repeat(40_000) : `n${i} ✓ ${pad}` });
    if (i % 200 === 199) await new Promise((resolve) => setImmediate(resolve));
  }
  await made.client.flush();
  return ids;
}

function expectDelivered(made: Made, ids: string[]): void {
  expect([...server.stored.keys()].filter((k) => k.startsWith("t-")).sort()).toEqual([...ids].sort());
  const st = made.client.stats();
  expect(st).toMatchObject({ enqueued: 3000, sent: 2999, rejected: 1, failed: 0, dropped: 0, queued: 0, inFlight: 0, retries: 2 });
  expect(st.requests).toBe(server.requests.length);
  expect(made.errors.map((e) => e.error.code)).toEqual(["rejected"]);
  expect(made.errors[0]!.stats.rejected).toBe(1);
}

describe("sender thread", () => {
  it("delivers every batch on the thread, through retries, a 413 split and a refusal; stats and onError on this thread", async () => {
    server = await new FakeServer(scripted()).start();
    const made = make(entry, { maxBatchSize: 200, maxQueueSize: 50_000, gzipThresholdBytes: 4096 });
    const ids = await deliverMany(made);
    expectDelivered(made, ids);
    expect(made.opened.count).toBe(1);
    expect(made.here.batches).toBe(0);
  });

  it("aborts the batch in flight at shutdown, then counts and reports it", async () => {
    server = await new FakeServer(() => "hang").start();
    const made = make(entry, { maxBatchSize: 5, requestTimeoutMs: 60_000 });
    for (let i = 0; i < 12; i++) made.client.log({ sessionId: "s", name: `x${i}` });
    await made.client.flush({ timeoutMs: 100 });
    await made.client.shutdown({ timeoutMs: 100 });
    await until(() => made.client.stats().inFlight === 0, 5000, "the abandoned batch");
    expect(made.client.stats()).toMatchObject({ failed: 12, sent: 0, inFlight: 0, queued: 0 });
    expect(made.errors.reduce((n, e) => n + e.error.count, 0)).toBe(12);
    expect(made.here.batches).toBe(0);
  });

  it("falls back to this thread when the thread's entry is missing (as in a bundle), the first batch included", async () => {
    server = await new FakeServer(scripted()).start();
    const made = make(new URL("./no-such-sender-worker.js", import.meta.url), { maxBatchSize: 200, maxQueueSize: 50_000 });
    const ids = await deliverMany(made);
    expectDelivered(made, ids);
    expect(made.here.batches).toBeGreaterThan(0);
  });

  it("falls back to this thread when worker_threads refuses to start one", async () => {
    server = await new FakeServer(scripted()).start();
    const made = make("not a path worker_threads takes", { maxBatchSize: 200, maxQueueSize: 50_000 });
    const ids = await deliverMany(made);
    expectDelivered(made, ids);
    expect(made.here.batches).toBeGreaterThan(0);
  });

  it("delivers the batch in flight on this thread when the thread ends", async () => {
    server = await new FakeServer().start();
    const made = make(new URL("./fixtures/exiting-sender-worker.mjs", import.meta.url));
    for (let i = 0; i < 10; i++) made.client.log({ id: `e${i}`, sessionId: "s" });
    await made.client.flush();
    expect(server.stored.size).toBe(10);
    expect(made.client.stats()).toMatchObject({ enqueued: 10, sent: 10, failed: 0, inFlight: 0 });
    expect(made.here.batches).toBe(1);
  });

  it("keeps delivery on this thread with a custom fetch", async () => {
    server = await new FakeServer().start();
    const made = make(entry, {
      fetch: (url, init) => fetch(url, init).then((r) => ({ status: r.status, headers: r.headers, text: () => r.text() })),
    });
    made.client.log({ name: "own fetch" });
    await made.client.flush();
    expect(made.opened.count).toBe(0);
    expect(server.events.map((e) => e.name)).toEqual(["own fetch"]);
  });
});
