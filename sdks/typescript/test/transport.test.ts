// Delivery against a scripted local server: batching, gzip, retries and what is not retried,
// Retry-After, timeouts, the bounded queue, flush and shutdown.

import { gunzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { AgentLog } from "../src/node.js";
import { parseRetryAfter } from "../src/sender.js";
import { client, FakeServer, sleep, until, type Reply } from "./helpers.js";

let server: FakeServer;
const clients: AgentLog[] = [];

async function setup(reply?: (req: FakeServer["requests"][number]) => Reply, options: ConstructorParameters<typeof AgentLog>[0] = {}) {
  server = await new FakeServer(reply).start();
  const made = client(server, options);
  clients.push(made.client);
  return made;
}

afterEach(async () => {
  for (const c of clients.splice(0)) await c.shutdown({ timeoutMs: 200 });
  await server?.close();
});

const idsOf = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe("batching", () => {
  it("sends a batch as soon as maxBatchSize items are queued, without waiting for the interval", async () => {
    const { client: c } = await setup(undefined, { maxBatchSize: 50, flushIntervalMs: 60_000 });
    const s = c.session();
    for (let i = 0; i < 149; i++) s.log({ name: `e${i}` }); // 1 session item + 149 events = 150
    await until(() => server.events.length + server.sessions.length >= 150, 3000, "three full batches");
    expect(server.requests.map((r) => r.body.events.length + r.body.sessions.length)).toEqual([50, 50, 50]);
  });

  it("sends a partial batch after flushIntervalMs", async () => {
    const { client: c } = await setup(undefined, { flushIntervalMs: 50 });
    const t0 = Date.now();
    c.log({ name: "lonely" });
    await until(() => server.events.length === 1, 3000, "interval send");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(40);
  });

  it("keeps request bodies under maxBatchBytes", async () => {
    const { client: c } = await setup(undefined, { maxBatchBytes: 20_000, gzipThresholdBytes: 1e9 });
    for (let i = 0; i < 30; i++) c.log({ name: `big${i}`, input: "x".repeat(3000) });
    await c.flush();
    expect(server.events.length).toBe(30);
    for (const r of server.requests) expect(r.raw.length).toBeLessThanOrEqual(20_000 + 3500);
    expect(server.requests.length).toBeGreaterThanOrEqual(5);
  });

  it("gzips large bodies and sends small ones plain, with JSON content type and the key", async () => {
    const { client: c } = await setup(undefined, { gzipThresholdBytes: 1000 });
    c.log({ name: "small" });
    await c.flush();
    c.log({ name: "large", input: "y".repeat(5000) });
    await c.flush();
    const [small, large] = server.requests.slice(-2);
    expect(small!.headers["content-encoding"]).toBeUndefined();
    expect(large!.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(large!.raw).toString()).toContain('"name":"large"');
    expect(large!.raw.length).toBeLessThan(1000);
    for (const r of server.requests) {
      expect(r.method).toBe("POST");
      expect(r.url).toBe("/v1/ingest");
      expect(r.headers["content-type"]).toBe("application/json");
      expect(r.headers["authorization"]).toBe("Bearer test-key");
      expect(r.headers["user-agent"]).toMatch(/^agentlog-sdk-typescript\/\d+\.\d+\.\d+ node\//);
    }
  });

  // Bodies are built in one reused buffer, from pages that are reused once sent: plain bodies
  // go out as views of that buffer, so a reuse too early would show here as a wrong item.
  for (const gzipThresholdBytes of [4096, 1e9]) {
    const label = gzipThresholdBytes === 4096 ? "gzip" : "plain";
    it(`delivers a large queue in order, each item once, over many requests, through retries and a 413 split (${label})`, async () => {
      const answered = new Set<number>();
      const { client: c, errors } = await setup(
        (req) => {
          if (req.n === 3 || req.n === 4) return { status: 503 };
          if (req.n === 7) return { status: 413 };
          answered.add(req.n);
          return FakeServer.ok();
        },
        { maxBatchSize: 200, maxQueueSize: 50_000, flushIntervalMs: 60_000, gzipThresholdBytes },
      );
      const ids = idsOf(5000, "bulk");
      // Some items are larger than a queue page (and than a body-copy step); some are not ASCII.
      const big = "é🚀".repeat(60_000);
      // Recorded while earlier batches are being sent; a batch spans several pages (~1 KB items).
      const pad = "p".repeat(1000);
      for (let i = 0; i < ids.length; i++) {
        c.log({ id: ids[i], sessionId: "s", input: i % 500 === 0 ? big : `n${i} ✓ ${pad}` });
        if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
      }
      await c.flush();
      const delivered = server.requests.filter((r) => answered.has(r.n)).flatMap((r) => r.body.events);
      expect(delivered.map((e) => e.id)).toEqual(ids);
      expect(delivered[500]!.input).toBe(big);
      expect(delivered.map((e) => e.input)).toEqual(ids.map((_, i) => (i % 500 === 0 ? big : `n${i} ✓ ${pad}`)));
      expect(server.requests.length).toBeGreaterThan(25);
      expect(c.stats()).toMatchObject({ enqueued: 5000, sent: 5000, failed: 0, dropped: 0, queued: 0, inFlight: 0, retries: 2 });
      expect(errors).toEqual([]);
    });
  }

  it("sends items in the order they were recorded", async () => {
    const { client: c } = await setup(undefined, { maxBatchSize: 7 });
    const ids = idsOf(100, "ord");
    for (const id of ids) c.log({ id });
    await c.flush();
    expect(server.events.map((e) => e.id)).toEqual(ids);
  });
});

describe("retries", () => {
  it("retries 503, 429, 500, 502 and network errors with the same ids until stored", async () => {
    const script: Reply[] = [{ status: 503 }, { status: 429 }, "destroy", { status: 500 }, { status: 502 }];
    const { client: c, errors } = await setup((req) => script[req.n] ?? FakeServer.ok());
    const ids = idsOf(20, "r");
    for (const id of ids) c.log({ id });
    await c.flush();
    expect(server.requests.length).toBe(6);
    for (const r of server.requests) expect(r.body.events.map((e) => e.id)).toEqual(server.requests[0]!.body.events.map((e) => e.id));
    expect([...server.stored.keys()].filter((k) => k.startsWith("r-"))).toEqual(ids);
    expect(c.stats()).toMatchObject({ sent: 21, failed: 0, retries: 5, requests: 6 });
    expect(errors).toEqual([]);
  });

  it("does not retry 400, 401, 403, 404 and 422; counts and reports them", async () => {
    for (const status of [400, 401, 403, 404]) {
      const { client: c, errors } = await setup(() => ({ status, body: JSON.stringify({ detail: `nope ${status}` }) }));
      c.log({ name: "x" });
      await c.flush();
      expect(server.requests.length).toBe(1);
      expect(c.stats()).toMatchObject({ failed: 2, sent: 0, retries: 0 });
      await sleep(1);
      expect(errors.map((e) => [e.code, e.status])).toEqual([["delivery_failed", status]]);
      expect(errors[0]!.message).toContain(`nope ${status}`);
      await server.close();
    }
    const body = JSON.stringify({ accepted: 0, rejected: 2, errors: [{ index: 0, item: "event", field: "type", message: "bad" }] });
    const { client: c, errors } = await setup(() => ({ status: 422, body }));
    c.log({ name: "y" });
    await c.flush();
    expect(server.requests.length).toBe(1);
    expect(c.stats()).toMatchObject({ rejected: 2, failed: 0 });
    await sleep(1);
    expect(errors[0]).toMatchObject({ code: "rejected", status: 422, count: 2 });
    expect(errors[0]!.message).toContain("event #0 type: bad");
  });

  it("counts items the server refused within a 200 and reports the details", async () => {
    const { client: c, errors } = await setup((req) => ({
      status: 200,
      body: JSON.stringify({
        accepted: req.body.events.length - 1,
        rejected: 1,
        errors: [{ index: 1, item: "event", field: "name", message: "too long" }],
      }),
    }));
    c.log({ id: "a", sessionId: "s" });
    c.log({ id: "b", sessionId: "s" });
    await c.flush();
    expect(c.stats()).toMatchObject({ sent: 1, rejected: 1 });
    await sleep(1);
    expect(errors[0]).toMatchObject({ code: "rejected", count: 1 });
    expect(errors[0]!.details).toEqual([{ index: 1, item: "event", field: "name", message: "too long" }]);
  });

  it("honours Retry-After", async () => {
    const { client: c } = await setup((req) => (req.n === 0 ? { status: 429, headers: { "Retry-After": "1" } } : FakeServer.ok()), {
      retryMaxDelayMs: 5000,
    });
    c.log({ name: "x" });
    await c.flush();
    const gap = server.requests[1]!.at - server.requests[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(950);
    expect(gap).toBeLessThan(2500);
  });

  it("backs off exponentially between retries", async () => {
    const { client: c } = await setup((req) => (req.n < 5 ? { status: 503 } : FakeServer.ok()), {
      retryInitialDelayMs: 20,
      retryMaxDelayMs: 10_000,
    });
    c.log({ name: "x" });
    await c.flush();
    const gaps = server.requests.slice(1).map((r, i) => r.at - server.requests[i]!.at);
    // equal jitter: retry k waits between 20*2^k/2 and 20*2^k ms
    for (let k = 0; k < gaps.length; k++) expect(gaps[k]!).toBeGreaterThanOrEqual(10 * 2 ** k - 2);
    expect(gaps[4]!).toBeGreaterThanOrEqual(160);
  });

  it("gives up after maxRetries, counts the items as failed and reports it", async () => {
    const { client: c, errors } = await setup(() => ({ status: 503 }), { maxRetries: 3 });
    c.log({ name: "x" });
    await c.flush();
    expect(server.requests.length).toBe(4);
    expect(c.stats()).toMatchObject({ failed: 2, retries: 3, sent: 0 });
    await sleep(1);
    expect(errors[0]).toMatchObject({ code: "delivery_failed", count: 2, status: 503 });
    expect(errors[0]!.message).toContain("gave up after 3 retries");
  });

  it("retries a request that gets no answer within requestTimeoutMs", async () => {
    const { client: c } = await setup((req) => (req.n === 0 ? "hang" : FakeServer.ok()), { requestTimeoutMs: 200 });
    const t0 = Date.now();
    c.log({ id: "slow" });
    await c.flush();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(server.requests.length).toBe(2);
    expect(server.stored.has("slow")).toBe(true);
  });

  it("splits a batch the server finds too large (413) and delivers both halves", async () => {
    const { client: c } = await setup((req) => (req.body.events.length > 4 ? { status: 413 } : FakeServer.ok()));
    const ids = idsOf(10, "split");
    for (const id of ids) c.log({ id, sessionId: "s" });
    await c.flush();
    expect([...server.stored.keys()].sort()).toEqual([...ids].sort());
    expect(c.stats()).toMatchObject({ sent: 10, failed: 0 });
  });

  it("parses Retry-After seconds and HTTP dates", () => {
    expect(parseRetryAfter("2")).toBe(2000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter("soon")).toBeUndefined();
    const inFive = new Date(Date.now() + 5000).toUTCString();
    expect(parseRetryAfter(inFive)!).toBeGreaterThan(3000);
  });
});

describe("bounded queue", () => {
  it("drops the oldest items when full, counts them, reports once, and never blocks", async () => {
    const { client: c, errors } = await setup(undefined, { maxQueueSize: 100, maxBatchSize: 1000, flushIntervalMs: 60_000 });
    const ids = idsOf(1000, "q");
    const t0 = performance.now();
    for (const id of ids) c.log({ id, sessionId: "s" });
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeLessThan(500);
    expect(c.stats()).toMatchObject({ enqueued: 1000, dropped: 900, queued: 100 });
    await c.flush();
    expect(server.events.map((e) => e.id)).toEqual(ids.slice(900));
    await sleep(1);
    expect(errors.filter((e) => e.code === "queue_overflow").length).toBe(1);
  });

  it("bounds the queue in bytes too", async () => {
    const { client: c } = await setup(undefined, { maxQueueBytes: 50_000, flushIntervalMs: 60_000 });
    for (let i = 0; i < 100; i++) c.log({ id: `b${i}`, sessionId: "s", input: "z".repeat(2000) });
    const st = c.stats();
    expect(st.dropped).toBeGreaterThan(70);
    expect(st.queued).toBeLessThanOrEqual(25);
    await c.flush();
    expect(server.events.at(-1)!.id).toBe("b99");
  });

  it("keeps recording while the server hangs; the stats add up", async () => {
    const { client: c } = await setup((req) => (req.n === 0 ? "hang" : FakeServer.ok()), {
      maxQueueSize: 50,
      maxBatchSize: 10,
      requestTimeoutMs: 300,
    });
    c.log({ id: "first", sessionId: "s" });
    void c.flush();
    await until(() => server.requests.length === 1 && c.stats().inFlight === 1, 3000, "the first request to hang");
    const t0 = performance.now();
    for (let i = 0; i < 500; i++) c.log({ id: `h${i}`, sessionId: "s" });
    expect(performance.now() - t0).toBeLessThan(500);
    await c.flush();
    const st = c.stats();
    expect(st.enqueued).toBe(st.sent + st.dropped + st.failed + st.rejected + st.queued + st.inFlight);
    expect(st.sent).toBe(51);
    expect(server.stored.has("first")).toBe(true);
    expect(server.stored.has("h499")).toBe(true);
  });
});

describe("flush and shutdown", () => {
  it("flush resolves at once when nothing is queued, and waits for delivery otherwise", async () => {
    const { client: c } = await setup((req) => (req.n === 0 ? { status: 503 } : FakeServer.ok()));
    await c.flush();
    expect(server.requests.length).toBe(0);
    c.log({ id: "w" });
    await c.flush();
    expect(server.stored.has("w")).toBe(true);
  });

  it("delivers after the server comes up (down at start)", async () => {
    server = await new FakeServer().start();
    const url = server.url;
    await server.close();
    const errors: unknown[] = [];
    const c = new AgentLog({ url, apiKey: "k", retryInitialDelayMs: 50, retryMaxDelayMs: 200, flushOnExit: false, onError: (e) => errors.push(e) });
    clients.push(c);
    c.log({ id: "early" });
    const flushed = c.flush();
    await sleep(300);
    server = await new FakeServer().start(Number(new URL(url).port));
    await flushed;
    expect(server.stored.has("early")).toBe(true);
    expect(c.stats().retries).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });

  it("flush with timeoutMs returns on time while delivery goes on", async () => {
    const { client: c } = await setup(() => ({ status: 503 }), { retryInitialDelayMs: 1000, retryMaxDelayMs: 1000 });
    c.log({ name: "x" });
    const t0 = Date.now();
    await c.flush({ timeoutMs: 100 });
    expect(Date.now() - t0).toBeLessThan(600);
    expect(c.stats().failed).toBe(0);
  });

  it("shutdown delivers everything, then stops; later flushes resolve", async () => {
    const { client: c } = await setup();
    for (let i = 0; i < 10; i++) c.log({ name: `s${i}` });
    await c.shutdown();
    expect(server.events.length).toBe(10);
    await c.flush();
    await c.shutdown();
  });

  it("shutdown gives up after its timeout, aborts the request and counts what is left as failed", async () => {
    const { client: c, errors } = await setup(() => "hang", { maxBatchSize: 5, requestTimeoutMs: 60_000 });
    for (let i = 0; i < 12; i++) c.log({ sessionId: "s", name: `x${i}` });
    const t0 = Date.now();
    await c.shutdown({ timeoutMs: 200 });
    expect(Date.now() - t0).toBeLessThan(1500);
    await until(() => c.stats().inFlight === 0, 2000, "abort");
    const st = c.stats();
    expect(st.failed).toBe(12);
    expect(st.sent).toBe(0);
    await sleep(1);
    expect(errors.every((e) => e.code === "delivery_failed")).toBe(true);
    expect(errors.reduce((n, e) => n + e.count, 0)).toBe(12);
  });
});

describe("configuration", () => {
  it("reads AGENTLOG_URL and AGENTLOG_API_KEY; options win", async () => {
    server = await new FakeServer().start();
    const saved = { url: process.env["AGENTLOG_URL"], key: process.env["AGENTLOG_API_KEY"] };
    process.env["AGENTLOG_URL"] = server.url + "/";
    process.env["AGENTLOG_API_KEY"] = "env-key";
    try {
      const c = new AgentLog({ flushOnExit: false });
      clients.push(c);
      expect(c.url).toBe(server.url);
      c.log({ name: "env" });
      await c.flush();
      expect(server.requests[0]!.headers["authorization"]).toBe("Bearer env-key");
      const c2 = new AgentLog({ apiKey: "opt-key", url: server.url, flushOnExit: false });
      clients.push(c2);
      c2.log({ name: "opt" });
      await c2.flush();
      expect(server.requests[1]!.headers["authorization"]).toBe("Bearer opt-key");
    } finally {
      if (saved.url === undefined) delete process.env["AGENTLOG_URL"];
      else process.env["AGENTLOG_URL"] = saved.url;
      if (saved.key === undefined) delete process.env["AGENTLOG_API_KEY"];
      else process.env["AGENTLOG_API_KEY"] = saved.key;
    }
  });

  it("defaults to http://127.0.0.1:7654", () => {
    const saved = process.env["AGENTLOG_URL"];
    delete process.env["AGENTLOG_URL"];
    const c = new AgentLog({ flushOnExit: false });
    clients.push(c);
    expect(c.url).toBe("http://127.0.0.1:7654");
    if (saved !== undefined) process.env["AGENTLOG_URL"] = saved;
  });

  it("uses a custom fetch, giving it plain bodies as text and gzipped ones as bytes", async () => {
    server = await new FakeServer().start();
    const calls: string[] = [];
    const bodies: (string | ArrayBuffer)[] = [];
    const c = new AgentLog({
      url: "http://127.0.0.1:9",
      flushOnExit: false,
      gzipThresholdBytes: 1000,
      fetch: async (url, init) => {
        calls.push(`${init.method} ${url}`);
        bodies.push(init.body);
        return { status: 200, headers: { get: () => null }, text: async () => '{"accepted":2,"rejected":0}' };
      },
    });
    clients.push(c);
    c.log({ name: "f ✓" });
    await c.flush();
    expect(calls).toEqual(["POST http://127.0.0.1:9/v1/ingest"]);
    expect(c.stats().sent).toBe(2);
    expect(typeof bodies[0]).toBe("string");
    expect((JSON.parse(bodies[0] as string) as { events: { name: string }[] }).events[0]!.name).toBe("f ✓");
    c.log({ name: "g", input: "z".repeat(5000) });
    await c.flush();
    expect(bodies[1]).toBeInstanceOf(ArrayBuffer);
    expect(gunzipSync(new Uint8Array(bodies[1] as ArrayBuffer)).toString()).toContain('"name":"g"');
  });
});
