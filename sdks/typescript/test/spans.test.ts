// Spans, sessions and events as they reach the wire: nesting through the async context,
// errors recorded and re-thrown unchanged, outputs, helpers, and the snake_case field names.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AgentLogError, type AgentLog } from "../src/node.js";
import { client, FakeServer, sleep, type WireEvent } from "./helpers.js";

let server: FakeServer;
let c: AgentLog;
let errors: AgentLogError[];

beforeEach(async () => {
  server = await new FakeServer().start();
  ({ client: c, errors } = client(server));
});

afterEach(async () => {
  await c.shutdown({ timeoutMs: 1000 });
  await server.close();
});

function byName(): Map<string, WireEvent> {
  const m = new Map<string, WireEvent>();
  for (const e of server.stored.values()) if (e.name !== undefined) m.set(e.name, e);
  return m;
}

describe("nesting", () => {
  it("gives spans inside spans their parent across awaits, timers and Promise.all", async () => {
    const session = c.session({ name: "nest" });
    await session.span("agent", "root", async () => {
      await sleep(2);
      await c.span("step", "plan", async () => {
        await Promise.all([
          c.span("tool", "a", async () => {
            await sleep(5);
            c.log({ name: "in-a" });
          }),
          c.span("tool", "b", async () => {
            await sleep(1);
            await new Promise<void>((resolve) =>
              setTimeout(() => {
                c.log({ name: "in-b-timer" });
                resolve();
              }, 3),
            );
          }),
        ]);
      });
      c.llm({ model: "m1", usage: { inputTokens: 1, outputTokens: 2 } });
    });
    await c.flush();
    const ev = byName();
    const id = (n: string) => ev.get(n)!.id;
    expect(ev.get("root")!.parent_id).toBeUndefined();
    expect(ev.get("plan")!.parent_id).toBe(id("root"));
    expect(ev.get("a")!.parent_id).toBe(id("plan"));
    expect(ev.get("b")!.parent_id).toBe(id("plan"));
    expect(ev.get("in-a")!.parent_id).toBe(id("a"));
    expect(ev.get("in-b-timer")!.parent_id).toBe(id("b"));
    expect(ev.get("m1")!.parent_id).toBe(id("root"));
    for (const e of ev.values()) expect(e.session_id).toBe(session.id);
  });

  it("keeps concurrent sibling spans apart", async () => {
    await Promise.all(
      Array.from({ length: 8 }, (_, t) =>
        c.span("agent", `task-${t}`, async () => {
          for (let i = 0; i < 20; i++) {
            await sleep(Math.random() * 2);
            c.log({ name: `task-${t}-ev-${i}` });
          }
        }),
      ),
    );
    await c.flush();
    const ev = byName();
    for (let t = 0; t < 8; t++) {
      for (let i = 0; i < 20; i++) expect(ev.get(`task-${t}-ev-${i}`)!.parent_id).toBe(ev.get(`task-${t}`)!.id);
    }
  });

  it("times children within their parent, and every span ends after it starts", async () => {
    await c.span("agent", "outer", async () => {
      await sleep(3);
      await c.span("tool", "inner", () => sleep(3));
      await sleep(3);
    });
    await c.flush();
    const ev = byName();
    const outer = ev.get("outer")!;
    const inner = ev.get("inner")!;
    expect(inner.started_at).toBeGreaterThanOrEqual(outer.started_at);
    expect(inner.ended_at!).toBeLessThanOrEqual(outer.ended_at!);
    expect(inner.ended_at! - inner.started_at).toBeGreaterThanOrEqual(2);
    expect(outer.ended_at! - outer.started_at).toBeGreaterThanOrEqual(8);
  });

  it("puts session.span and session.log under the current span of that session", async () => {
    const s = c.session();
    await s.span("agent", "root", async () => {
      await sleep(1);
      await s.span("tool", "child", async () => {
        s.log({ name: "deep" });
      });
    });
    await c.flush();
    const ev = byName();
    expect(ev.get("child")!.parent_id).toBe(ev.get("root")!.id);
    expect(ev.get("deep")!.parent_id).toBe(ev.get("child")!.id);
  });

  it("records events outside any session in one implicit session, announced with the agent", async () => {
    const { client: c2 } = client(server, { agent: "bot" });
    c2.log({ name: "loose-1" });
    await c2.span("tool", "loose-2", () => 1);
    await c2.flush();
    const ev = byName();
    expect(ev.get("loose-1")!.session_id).toBe(ev.get("loose-2")!.session_id);
    expect(ev.get("loose-1")!.agent).toBe("bot");
    const announced = server.sessions.find((s) => s.id === ev.get("loose-1")!.session_id);
    expect(announced).toMatchObject({ agent: "bot", status: "running" });
    await c2.shutdown();
    expect(server.sessions.filter((s) => s.id === announced!.id).at(-1)).toMatchObject({ status: "success" });
  });

  it("lets explicit parentId / sessionId override the context, and parentId null detach", async () => {
    await c.span("agent", "ctx", async () => {
      c.log({ name: "detached", parentId: null });
      c.log({ name: "other-parent", parentId: "p-1", sessionId: "s-1" });
    });
    await c.flush();
    const ev = byName();
    expect(ev.get("detached")!.parent_id).toBeUndefined();
    expect(ev.get("other-parent")).toMatchObject({ parent_id: "p-1", session_id: "s-1" });
  });

  it("nests explicitly through span.span / span.log / startSpan", async () => {
    const parent = c.startSpan("agent", "manual", { input: { q: 1 } });
    parent.log({ name: "child-log" });
    const child = parent.startSpan("tool", "child-span");
    child.end({ output: "done" });
    parent.span("step", "child-run", () => 1);
    parent.end({ output: { a: 1 } });
    parent.end({ output: "ignored: already ended" });
    await c.flush();
    const ev = byName();
    const pid = ev.get("manual")!.id;
    expect(ev.get("manual")).toMatchObject({ status: "ok", input: { q: 1 }, output: { a: 1 } });
    expect(ev.get("child-log")!.parent_id).toBe(pid);
    expect(ev.get("child-span")).toMatchObject({ parent_id: pid, output: "done", status: "ok" });
    expect(ev.get("child-run")!.parent_id).toBe(pid);
    expect(c.currentSpan()).toBeUndefined();
  });

  it("exposes the current span and session", async () => {
    const s = c.session();
    await s.span("agent", "x", async (span) => {
      await sleep(1);
      expect(c.currentSpan()).toBe(span);
      expect(c.currentSession()).toBe(s);
    });
    s.run(() => expect(c.currentSession()).toBe(s));
    expect(c.currentSession()).toBeUndefined();
  });
});

describe("errors", () => {
  class ToolError extends Error {
    code = "E_TOOL";
  }

  it("records an async error with type, message and stack, and re-throws the same object", async () => {
    const thrown = new ToolError("search failed");
    let caught: unknown;
    try {
      await c.span("tool", "search", async () => {
        await sleep(1);
        throw thrown;
      });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBe(thrown);
    await c.flush();
    const e = byName().get("search")!;
    expect(e.status).toBe("error");
    expect(e.error).toMatchObject({ type: "ToolError", message: "search failed" });
    expect(e.error!.stack).toContain("search failed");
    expect(e.error!.stack).toContain("spans.test.ts");
  });

  it("records a synchronous throw and re-throws it synchronously", async () => {
    const thrown = new RangeError("bad range");
    expect(() =>
      c.span("tool", "sync-throw", () => {
        throw thrown;
      }),
    ).toThrow(thrown);
    await c.flush();
    expect(byName().get("sync-throw")).toMatchObject({ status: "error", error: { type: "RangeError", message: "bad range" } });
  });

  it("records thrown non-Error values and re-throws them unchanged", async () => {
    const obj = { reason: "quota" };
    await expect(c.span("tool", "throws-string", async () => Promise.reject("plain string"))).rejects.toBe("plain string");
    await expect(c.span("tool", "throws-object", async () => Promise.reject(obj))).rejects.toBe(obj);
    await expect(c.span("tool", "throws-undefined", async () => Promise.reject(undefined))).rejects.toBeUndefined();
    await c.flush();
    const ev = byName();
    expect(ev.get("throws-string")).toMatchObject({ status: "error", error: { message: "plain string" } });
    expect(ev.get("throws-object")!.status).toBe("error");
    expect(ev.get("throws-object")!.error!.message).toContain("quota");
    expect(ev.get("throws-undefined")).toMatchObject({ status: "error", error: { message: "undefined was thrown" } });
  });

  it("marks every span an error crosses, and includes the cause chain in the stack", async () => {
    const root = new Error("root cause");
    await expect(
      c.span("agent", "outer", () =>
        c.span("step", "middle", () =>
          c.span("tool", "inner", async () => {
            throw new Error("wrapped", { cause: root });
          }),
        ),
      ),
    ).rejects.toThrow("wrapped");
    await c.flush();
    const ev = byName();
    for (const n of ["outer", "middle", "inner"]) expect(ev.get(n)!.status).toBe("error");
    expect(ev.get("inner")!.error!.stack).toContain("Caused by: Error: root cause");
  });

  it("does not record output for a failed span, and lets update() set error status", async () => {
    await c.span("tool", "soft-fail", (span) => {
      span.update({ status: "error", error: { type: "Soft", message: "recovered" } });
      return "value";
    });
    await c.flush();
    expect(byName().get("soft-fail")).toMatchObject({ status: "error", error: { type: "Soft", message: "recovered" }, output: "value" });
  });
});

describe("recorded fields", () => {
  it("sends exactly the snake_case field names of docs/api.md", async () => {
    const s = c.session({ id: "sess-1", name: "n", agent: "ag", userId: "u-1", tags: ["t"], metadata: { k: 1 } });
    s.span(
      "llm",
      "chat",
      (span) => {
        span.update({ usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15, cachedTokens: 2 }, costUsd: 0.25 });
        return { text: "hi" };
      },
      {
        id: "ev-1",
        input: { prompt: "hello" },
        model: "gpt-x",
        provider: "acme",
        attributes: { temperature: 0.2 },
        tags: ["x"],
        traceId: "tr-1",
        spanId: "sp-1",
      },
    );
    s.end({ status: "failure" });
    await c.flush();
    const e = server.stored.get("ev-1")!;
    expect(Object.keys(e).sort()).toEqual(
      [
        "agent",
        "attributes",
        "cost_usd",
        "ended_at",
        "id",
        "input",
        "model",
        "name",
        "output",
        "provider",
        "session_id",
        "span_id",
        "started_at",
        "status",
        "tags",
        "trace_id",
        "type",
        "usage",
      ].sort(),
    );
    expect(e).toMatchObject({
      session_id: "sess-1",
      type: "llm",
      name: "chat",
      agent: "ag",
      status: "ok",
      input: { prompt: "hello" },
      output: { text: "hi" },
      model: "gpt-x",
      provider: "acme",
      usage: { input_tokens: 10, output_tokens: 5, total_tokens: 15, cached_tokens: 2 },
      cost_usd: 0.25,
      attributes: { temperature: 0.2 },
      tags: ["x"],
      trace_id: "tr-1",
      span_id: "sp-1",
    });
    expect(server.sessions[0]).toEqual({
      id: "sess-1",
      name: "n",
      agent: "ag",
      user_id: "u-1",
      tags: ["t"],
      metadata: { k: 1 },
      status: "running",
      started_at: expect.any(Number),
    });
    expect(server.sessions.at(-1)).toEqual({ id: "sess-1", status: "failure", ended_at: expect.any(Number) });
  });

  it("makes UUIDv7 ids and epoch-millisecond times with microseconds", async () => {
    const before = Date.now();
    const id = c.log({ name: "t" });
    await c.flush();
    const e = server.stored.get(id)!;
    expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(e.started_at).toBeGreaterThanOrEqual(before - 5);
    expect(e.started_at).toBeLessThanOrEqual(Date.now() + 5);
    expect(Math.round(e.started_at * 1000)).toBeCloseTo(e.started_at * 1000, 6);
    expect(e.type).toBe("log");
  });

  it("accepts Date, epoch ms and RFC 3339 (keeping microseconds) for times", async () => {
    c.log({ name: "d", startedAt: new Date("2026-01-02T03:04:05.678Z") });
    c.log({ name: "n", startedAt: 1767323045678.5 });
    c.log({ name: "s", startedAt: "2026-01-02T05:04:05.678912+02:00", endedAt: "2026-01-02T03:04:06Z" });
    await c.flush();
    const ev = byName();
    expect(ev.get("d")!.started_at).toBe(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    expect(ev.get("n")!.started_at).toBe(1767323045678.5);
    expect(ev.get("s")!.started_at).toBeCloseTo(Date.UTC(2026, 0, 2, 3, 4, 5, 678) + 0.912, 6);
    expect(ev.get("s")!.ended_at).toBe(Date.UTC(2026, 0, 2, 3, 4, 6));
  });

  it("records llm() and tool() helpers with their types and names", async () => {
    c.llm({ model: "gpt-4o", provider: "openai", input: [{ role: "user", content: "hi" }], output: "hello", usage: { inputTokens: 3, outputTokens: 1 }, costUsd: 0.001 });
    c.tool({ name: "search", input: { q: "x" }, output: ["r"] });
    await c.flush();
    const ev = byName();
    expect(ev.get("gpt-4o")).toMatchObject({ type: "llm", provider: "openai", usage: { input_tokens: 3, output_tokens: 1 }, cost_usd: 0.001 });
    expect(ev.get("search")).toMatchObject({ type: "tool", input: { q: "x" }, output: ["r"] });
  });

  it("wrap() records each call with its arguments as input", async () => {
    const add = c.wrap("tool", "add", (a: number, b: number) => a + b);
    const upper = c.wrap("tool", "upper", async (s: string) => s.toUpperCase());
    expect(add(2, 3)).toBe(5);
    expect(await upper("x")).toBe("X");
    await c.flush();
    const ev = byName();
    expect(ev.get("add")).toMatchObject({ input: [2, 3], output: 5 });
    expect(ev.get("upper")).toMatchObject({ input: "x", output: "X" });
  });

  it("snapshots input at start and output at the end (later mutation is not recorded)", async () => {
    const input = { n: 1 };
    const out = { m: 1 };
    await c.span(
      "tool",
      "snap",
      async () => {
        input.n = 2;
        return out;
      },
      { input },
    );
    out.m = 2;
    await c.flush();
    expect(byName().get("snap")).toMatchObject({ input: { n: 1 }, output: { m: 1 } });
  });

  it("records events that the caller's own code records while an event is being encoded", async () => {
    // toJSON and getters run while the SDK writes the event into its reused buffer.
    const output = {
      toJSON: () => {
        c.span("tool", "from-toJSON", () => ({ inner: c.log({ name: "from-inner", input: { deep: [1, 2] } }) }));
        return { replaced: true };
      },
    };
    const input = {
      get lazy() {
        return c.tool({ name: "from-getter", output: "g" });
      },
    };
    // (Fields written after the output: those the nested records must not disturb.)
    const after = { model: "m", attributes: { a: 1 }, tags: ["t"] };
    c.span("tool", "outer", () => output, { input, ...after });
    c.log({ name: "after", output, ...after });
    await c.flush();
    const ev = byName();
    expect(ev.get("outer")).toMatchObject({ input: { lazy: ev.get("from-getter")!.id }, output: { replaced: true }, ...after });
    expect(ev.get("after")).toMatchObject({ output: { replaced: true }, ...after });
    expect(ev.get("from-getter")).toMatchObject({ type: "tool", output: "g" });
    expect(ev.get("from-toJSON")!.output).toEqual({ inner: ev.get("from-inner")!.id });
    expect(ev.get("from-inner")!.input).toEqual({ deep: [1, 2] });
    expect(errors).toEqual([]);
  });

  it("does not record the output when captureOutput is false", async () => {
    c.span("tool", "secret", () => "password", { captureOutput: false });
    await c.flush();
    expect(byName().get("secret")!.output).toBeUndefined();
  });

  it("merges attributes in update() and lets an explicit output win over the return value", async () => {
    c.span(
      "tool",
      "upd",
      (span) => {
        span.update({ attributes: { b: 2 }, output: "explicit", model: "m" });
        span.update({ attributes: { c: 3 } });
        return "returned";
      },
      { attributes: { a: 1 } },
    );
    await c.flush();
    expect(byName().get("upd")).toMatchObject({ output: "explicit", model: "m", attributes: { a: 1, b: 2, c: 3 } });
  });

  it("keeps only running spans in the client's list of open spans", async () => {
    const open = () => (c as unknown as { openSpans: { size: number } }).openSpans.size;
    const manual = c.startSpan("tool", "manual");
    let inside = -1;
    await c.span("agent", "outer", async () => {
      inside = open();
      c.span("tool", "sync", () => 1);
      expect(() => c.span("tool", "throws", () => { throw new Error("x"); })).toThrow("x");
      await c.span("tool", "rejects", async () => Promise.reject(new Error("y"))).catch(() => undefined);
    });
    expect(inside).toBe(2); // manual and outer
    expect(open()).toBe(1);
    manual.end();
    manual.end();
    expect(open()).toBe(0);
  });

  it("records a long-running span as running first, then replaces it with the same id", async () => {
    const { client: c2 } = client(server, { flushIntervalMs: 30 });
    await c2.span("agent", "long", async () => {
      await sleep(150);
    });
    await c2.flush();
    const versions = server.events.filter((e) => e.name === "long");
    expect(versions.length).toBe(2);
    expect(versions[0]).toMatchObject({ status: "running" });
    expect(versions[0]!.ended_at).toBeUndefined();
    expect(versions[1]).toMatchObject({ id: versions[0]!.id, status: "ok" });
    await c2.shutdown();
  });
});

describe("never throws", () => {
  it("survives bad arguments and reports them", async () => {
    const bad = c as unknown as Record<string, (...a: unknown[]) => unknown>;
    expect(() => bad["log"]!(null)).not.toThrow();
    expect(() => bad["log"]!({ type: "bogus", usage: { inputTokens: -1 }, costUsd: NaN, tags: "x", startedAt: "yesterday" })).not.toThrow();
    expect(bad["span"]!("tool", "no-fn", 42)).toBeUndefined();
    expect(() => bad["session"]!("not options")).not.toThrow();
    expect(() => c.session({ id: "" })).not.toThrow();
    await c.flush();
    const bogus = [...server.stored.values()].find((e) => e.type === "custom")!;
    expect(bogus.usage).toBeUndefined();
    expect(bogus.cost_usd).toBeUndefined();
    expect(bogus.tags).toBeUndefined();
    const codes = errors.map((e) => e.code);
    expect(codes).toContain("invalid_value");
    expect(errors.some((e) => e.message.includes("unknown event type"))).toBe(true);
    expect(errors.some((e) => e.message.includes("span() needs a function"))).toBe(true);
  });

  it("keeps working when onError throws", async () => {
    const { client: c2 } = client(server, {
      onError: () => {
        throw new Error("bad handler");
      },
    });
    c2.log({ name: "x", type: "nope" as never });
    await c2.flush();
    await sleep(5);
    expect(server.events.some((e) => e.name === "x")).toBe(true);
    await c2.shutdown();
  });

  it("runs functions but records nothing when disabled", async () => {
    const { client: c2 } = client(server, { disabled: true });
    expect(c2.span("tool", "x", () => 7)).toBe(7);
    expect(await c2.span("tool", "y", async () => 8)).toBe(8);
    expect(typeof c2.log({ name: "z" })).toBe("string");
    await c2.flush();
    await c2.shutdown();
    expect(server.requests.length).toBe(0);
  });

  it("reports records made after shutdown once, and ignores them", async () => {
    await c.shutdown();
    c.log({ name: "late-1" });
    c.log({ name: "late-2" });
    await sleep(5);
    expect(errors.filter((e) => e.code === "closed").length).toBe(1);
    expect(errors[0]).toBeInstanceOf(AgentLogError);
    expect(server.events.some((e) => e.name?.startsWith("late"))).toBe(false);
  });
});
