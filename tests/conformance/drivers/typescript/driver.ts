// Conformance driver for @agentlog/sdk: `node dist/driver.js <scenario>` plays one scenario of
// tests/conformance/scenarios.json (its "steps" are the specification) and prints one JSON
// result line. Environment: AGENTLOG_URL, AGENTLOG_API_KEY (read by the SDK itself),
// AGENTLOG_CONFORMANCE_SESSION (the session id to use), AGENTLOG_CONFORMANCE_PARAMS (JSON).

import { AgentLog, type AgentLogError, type AgentLogOptions, type AgentLogStats } from "@agentlog/sdk";

const scenario = process.argv[2] ?? "";
const SESSION = process.env["AGENTLOG_CONFORMANCE_SESSION"] ?? "";
const params = JSON.parse(process.env["AGENTLOG_CONFORMANCE_PARAMS"] || "{}") as Record<string, number>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const yieldNow = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Errors the SDK reported, by code. */
const reported: Record<string, number> = {};

function makeClient(options: AgentLogOptions = {}): AgentLog {
  return new AgentLog({
    onError: (e: AgentLogError) => {
      reported[e.code] = (reported[e.code] ?? 0) + 1;
      process.stderr.write(`[driver] onError ${e.code}: ${e.message}\n`);
    },
    ...options,
  });
}

function retryOptions(): AgentLogOptions {
  return {
    ...(params["retry_initial_delay_ms"] !== undefined ? { retryInitialDelayMs: params["retry_initial_delay_ms"] } : {}),
    ...(params["retry_max_delay_ms"] !== undefined ? { retryMaxDelayMs: params["retry_max_delay_ms"] } : {}),
  };
}

function emit(result: Record<string, unknown>, stats?: AgentLogStats): void {
  process.stdout.write(JSON.stringify({ scenario, ok: true, ...result, ...(stats ? { stats } : {}), reported }) + "\n");
}

class ConformanceError extends Error {
  override name = "ConformanceError";
}

const scenarios: Record<string, () => Promise<void>> = {
  async nested_spans() {
    const client = makeClient();
    const session = client.session({
      id: SESSION,
      name: "conformance nested",
      agent: "conformance-agent",
      userId: "user-42",
      tags: ["conformance", "nested"],
      metadata: { suite: "conformance" },
    });
    await session.span(
      "agent",
      "root",
      async () => {
        await sleep(5);
        await client.span("step", "plan", async () => {
          await sleep(2);
          await client.span(
            "llm",
            "call-1",
            async (span) => {
              await sleep(2);
              span.update({ usage: { inputTokens: 10, outputTokens: 5 }, costUsd: 0.001 });
              return { text: "hi" };
            },
            { model: "test-model", provider: "test-provider" },
          );
          await Promise.all([
            client.span("tool", "search-a", async () => {
              await sleep(6);
              await client.span("retrieval", "fetch-a", () => sleep(1));
            }),
            client.span("tool", "search-b", async () => {
              await sleep(1);
              await client.span("retrieval", "fetch-b", () => sleep(6));
            }),
          ]);
          client.log({ type: "log", name: "note" });
        });
        client.llm({
          name: "answer",
          model: "test-model",
          input: "summarize",
          output: "done",
          usage: { inputTokens: 7, outputTokens: 3 },
          costUsd: 0.0005,
        });
        return { answer: 42 };
      },
      { input: { question: "q" } },
    );
    session.end({ status: "success" });
    await client.flush();
    emit({}, client.stats());
    await client.shutdown();
  },

  async exception_recorded() {
    const client = makeClient();
    const session = client.session({ id: SESSION });
    let same = 0;
    let caught = 0;
    const expectSame = async (thrown: { error?: unknown }, run: () => unknown) => {
      try {
        await run();
      } catch (e) {
        caught++;
        if (e === thrown.error) same++;
      }
    };
    await session.span("agent", "outer", async () => {
      const a: { error?: unknown } = {};
      await expectSame(a, () =>
        client.span("tool", "fails-async", async () => {
          await sleep(1);
          throw (a.error = new ConformanceError("boom-async"));
        }),
      );
      const b: { error?: unknown } = {};
      await expectSame(b, () =>
        client.span("tool", "fails-sync", () => {
          throw (b.error = new ConformanceError("boom-sync"));
        }),
      );
      const c: { error?: unknown } = {};
      await expectSame(c, () =>
        client.span("step", "propagates", () =>
          client.span("tool", "inner-fail", async () => {
            await sleep(1);
            throw (c.error = new ConformanceError("deep"));
          }),
        ),
      );
      return "recovered";
    });
    await client.flush();
    emit({ rethrown_same: same, caught }, client.stats());
    await client.shutdown();
  },

  async concurrent_10k() {
    const tasks = params["tasks"] ?? 8;
    const perTask = params["events_per_task"] ?? 1250;
    const client = makeClient();
    const session = client.session({ id: SESSION });
    await Promise.all(
      Array.from({ length: tasks }, (_, t) =>
        session.span(
          "agent",
          `task-${t}`,
          async () => {
            for (let i = 0; i < perTask; i++) {
              client.log({ type: "log", name: "ev", attributes: { task: t, seq: t * perTask + i } });
              if (i % 10 === 9) await yieldNow();
            }
          },
          { attributes: { task: t } },
        ),
      ),
    );
    await client.flush();
    emit({}, client.stats());
    await client.shutdown();
  },

  async faults_then_recovery() {
    const client = makeClient({ maxBatchSize: params["batch_size"] ?? 100, ...retryOptions() });
    const session = client.session({ id: SESSION });
    const n = params["events"] ?? 2000;
    for (let i = 0; i < n; i++) {
      session.log({ type: "log", name: "ev", attributes: { seq: i } });
      if (i % 100 === 99) await yieldNow();
    }
    await client.flush();
    emit({}, client.stats());
    await client.shutdown();
  },

  async server_down_at_start() {
    const client = makeClient(retryOptions());
    const session = client.session({ id: SESSION });
    const n = params["events"] ?? 300;
    for (let i = 0; i < n; i++) session.log({ type: "log", name: "ev", attributes: { seq: i } });
    const t0 = performance.now();
    await client.flush();
    emit({ flush_ms: Math.round(performance.now() - t0) }, client.stats());
    await client.shutdown();
  },

  async queue_overflow() {
    const client = makeClient({ maxQueueSize: params["max_queue_size"] ?? 100, maxBatchSize: params["max_batch_size"] ?? 10 });
    const n = params["events"] ?? 1000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) client.log({ sessionId: SESSION, type: "log", name: "ev", attributes: { seq: i } });
    const burstMs = performance.now() - t0;
    await client.flush();
    emit({ burst_ms: burstMs, overflow_reports: reported["queue_overflow"] ?? 0 }, client.stats());
    await client.shutdown();
  },

  async short_lived_shutdown() {
    const client = makeClient({ flushIntervalMs: params["flush_interval_ms"] ?? 60_000 });
    const session = client.session({ id: SESSION });
    const n = params["events"] ?? 500;
    session.span("agent", "job", () => {
      for (let i = 0; i < n - 1; i++) client.log({ type: "log", name: "ev", attributes: { seq: i } });
    });
    session.end({ status: "success" });
    await client.shutdown();
    emit({}, client.stats());
    process.exit(0);
  },

  async exit_without_shutdown() {
    const client = makeClient({ flushIntervalMs: params["flush_interval_ms"] ?? 60_000 });
    const session = client.session({ id: SESSION });
    const n = params["events"] ?? 200;
    session.span("agent", "job", () => {
      for (let i = 0; i < n - 1; i++) client.log({ type: "log", name: "ev", attributes: { seq: i } });
    });
    emit({ queued_at_end: client.stats().queued });
    // No flush, no shutdown: the SDK's beforeExit hook delivers.
  },

  async invalid_values() {
    const client = makeClient();
    const session = client.session({ id: SESSION });
    const threw: string[] = [];
    const cases: Record<string, string> = {};
    const delivery = () => (reported["rejected"] ?? 0) + (reported["delivery_failed"] ?? 0);

    const circular: Record<string, unknown> = { name: "loop" };
    circular["self"] = circular;
    let deep: unknown = "bottom";
    for (let i = 0; i < 1000; i++) deep = [deep];
    const getter = {
      ok: 1,
      get broken(): never {
        throw new Error("getter failed");
      },
    };
    const many = Array.from({ length: 150 }, (_, i) => `t${i}`).concat(["T".repeat(300)]);

    const table: [string, Record<string, unknown>][] = [
      ["circular", { input: circular }],
      ["big_integer", { output: { value: 12345678901234567890n } }],
      ["huge_string", { input: "x".repeat(5_000_000) }],
      ["lone_surrogate", { name: "bad-\ud800-name", input: { text: "a\udc00b" } }],
      ["invalid_utf8", { input: { data: new Uint8Array([0xff, 0xfe, 0x41]) } }],
      ["deep_nesting", { input: deep }],
      ["non_finite_numbers", { output: { nan: NaN, inf: Infinity, ok: true } }],
      ["huge_name", { name: "n".repeat(5000) }],
      ["many_tags", { tags: many }],
      ["throwing_getter", { input: getter }],
      ["unsupported_types", { input: { fn: () => 1, other: Symbol("s") } }],
    ];
    for (const [name, fields] of table) {
      const before = delivery();
      try {
        session.log({ type: "log", name: `case-${name}`, ...fields, attributes: { case: name } });
      } catch {
        threw.push(name);
      }
      await client.flush();
      cases[name] = delivery() > before ? "reported" : "logged";
    }
    emit({ threw, cases }, client.stats());
    await client.shutdown();
  },
};

const play = scenarios[scenario];
if (!play) {
  process.stdout.write(JSON.stringify({ scenario, unsupported: true, reason: `unknown scenario ${scenario}` }) + "\n");
  process.exit(3);
}
play().catch((e: unknown) => {
  process.stdout.write(JSON.stringify({ scenario, ok: false, error: String((e as Error)?.stack ?? e) }) + "\n");
  process.exit(1);
});
