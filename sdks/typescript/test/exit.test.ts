// Short-lived processes: what is queued is delivered when the program ends on its own, by
// shutdown() before process.exit(), and a dead server delays exit by at most the shutdown
// timeout. The programs run as child processes (TypeScript through vite-node), once with the
// sender thread (its TypeScript entry compiled by test/fixtures/ts-hooks.mjs) and once where
// it cannot start (without those hooks its entry is missing) and the main thread sends.

import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { FakeServer } from "./helpers.js";

const viteNode = createRequire(import.meta.url).resolve("vite-node/vite-node.mjs");
const child = fileURLToPath(new URL("./fixtures/exit-child.ts", import.meta.url));
const tsHooks = fileURLToPath(new URL("./fixtures/ts-register.mjs", import.meta.url));

interface Run {
  code: number | null;
  ms: number;
  stderr: string;
}

function run(mode: string, url: string, thread: boolean): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const env: NodeJS.ProcessEnv = { ...process.env, AGENTLOG_URL: url };
    delete env["AGENTLOG_API_KEY"];
    const args = [...(thread ? ["--import", tsHooks] : []), viteNode, child, mode];
    const p = spawn(process.execPath, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const killer = setTimeout(() => p.kill("SIGKILL"), 15_000);
    p.on("error", reject);
    p.on("exit", (code) => {
      clearTimeout(killer);
      resolve({ code, ms: Date.now() - t0, stderr });
    });
  });
}

let server: FakeServer;
afterEach(async () => {
  await server?.close();
});

describe.each([
  ["sender thread", true],
  ["no sender thread", false],
])("process exit (%s)", (_, thread) => {
  it("delivers everything when the program just ends (beforeExit), and ends the implicit session", async () => {
    server = await new FakeServer().start();
    const r = await run("natural-end", server.url, thread);
    expect(r.code).toBe(0);
    const names = [...server.stored.values()].map((e) => e.name);
    for (let i = 0; i < 50; i++) expect(names).toContain(`ev-${i}`);
    expect(names).toContain("job");
    expect(server.sessions.at(-1)).toMatchObject({ status: "success" });
  });

  it("delivers everything with shutdown() right before process.exit()", async () => {
    server = await new FakeServer().start();
    const r = await run("shutdown-then-exit", server.url, thread);
    expect(r.code).toBe(0);
    expect(server.stored.size).toBe(201);
    expect(server.sessions.at(-1)).toMatchObject({ status: "success" });
  });

  it("records a span that never finished as running", async () => {
    server = await new FakeServer().start();
    const r = await run("never-ends", server.url, thread);
    expect(r.code).toBe(0);
    expect([...server.stored.values()].find((e) => e.name === "stuck")).toMatchObject({ status: "running" });
  });

  it("exits within the shutdown timeout when the server is down, and says what was lost", async () => {
    server = await new FakeServer().start();
    const url = server.url;
    await server.close();
    const idle = await run("idle", url, thread);
    const r = await run("natural-end", url, thread);
    expect(r.code).toBe(0);
    // 800 ms shutdown timeout plus the child's start-up (measured by the idle run).
    expect(r.ms - idle.ms).toBeLessThan(2500);
    expect(r.stderr).toMatch(/\[agentlog\] delivery_failed: .*not delivered/);
  });

  it("delivers the queues of many clients at exit without listener warnings", async () => {
    server = await new FakeServer().start();
    const r = await run("many-clients", server.url, thread);
    expect(r.code).toBe(0);
    const names = new Set([...server.stored.values()].map((e) => e.name));
    for (let c = 0; c < 20; c++) expect(names.has(`client-${c}`)).toBe(true);
    expect(r.stderr).not.toMatch(/MaxListenersExceeded/);
  });

  it("does not keep an idle program alive or send anything", async () => {
    server = await new FakeServer().start();
    const r = await run("idle", server.url, thread);
    expect(r.code).toBe(0);
    expect(server.requests.length).toBe(0);
  });
});
