// The browser/edge entry, run in Node with the Node globals that browsers also have
// (fetch, CompressionStream, crypto) and without a global AsyncLocalStorage.

import { AsyncLocalStorage } from "node:async_hooks";
import { gunzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { AgentLog } from "../src/index.js";
import { FakeServer, sleep } from "./helpers.js";

let server: FakeServer;
afterEach(async () => {
  delete (globalThis as { AsyncLocalStorage?: unknown }).AsyncLocalStorage;
  await server?.close();
});

function make(url: string): AgentLog {
  return new AgentLog({ url, apiKey: "k", flushOnExit: false, gzipThresholdBytes: 100, onError: () => {} });
}

describe("web entry", () => {
  it("nests synchronously, and explicitly after an await, without AsyncLocalStorage", async () => {
    server = await new FakeServer().start();
    const c = make(server.url);
    await c.span("agent", "root", async (root) => {
      c.span("tool", "sync-child", () => 1);
      await sleep(1);
      root.span("tool", "explicit-child", () => 2);
      c.log({ name: "lost-context" });
    });
    await c.flush();
    const byName = new Map([...server.stored.values()].map((e) => [e.name, e]));
    const rootId = byName.get("root")!.id;
    expect(byName.get("sync-child")!.parent_id).toBe(rootId);
    expect(byName.get("explicit-child")!.parent_id).toBe(rootId);
    expect(byName.get("lost-context")!.parent_id).toBeUndefined();
    await c.shutdown();
  });

  it("follows awaits where the runtime has a global AsyncLocalStorage", async () => {
    (globalThis as { AsyncLocalStorage?: unknown }).AsyncLocalStorage = AsyncLocalStorage;
    server = await new FakeServer().start();
    const c = make(server.url);
    await c.span("agent", "root", async () => {
      await sleep(1);
      c.log({ name: "after-await" });
    });
    await c.flush();
    const byName = new Map([...server.stored.values()].map((e) => [e.name, e]));
    expect(byName.get("after-await")!.parent_id).toBe(byName.get("root")!.id);
    await c.shutdown();
  });

  it("gzips with CompressionStream and sends no User-Agent", async () => {
    server = await new FakeServer().start();
    const c = make(server.url);
    c.log({ name: "big", input: "q".repeat(1000) });
    await c.flush();
    const req = server.requests[0]!;
    expect(req.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(req.raw).toString()).toContain('"name":"big"');
    expect(req.headers["user-agent"]).not.toMatch(/agentlog/);
    await c.shutdown();
  });
});
