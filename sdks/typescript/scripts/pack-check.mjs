// Checks the published artifact, not the source tree: `npm pack`, install the tarball into a
// fresh temporary directory, then
//   1. its file list (dist ESM + CJS + .d.ts, the sender thread's entry in both, README,
//      LICENSE; no sources or tests);
//   2. an ES module and a CommonJS program using it record nested spans to a local capture
//      server, each with its sender thread running (counted in /proc/self/task, on Linux);
//   3. TypeScript consumers (NodeNext ESM, NodeNext CJS, node10; strict with
//      exactOptionalPropertyTypes) type-check against its declarations with no @types and no
//      DOM library;
//   4. the README quick start, verbatim, against the real server (build/agentlog or
//      $AGENTLOG_BIN), and the API shows the session nested as the README says. Skipped, and
//      said so, when there is no server binary.
// Needs the package built (npm run build). Exits non-zero on the first failure.

import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repo = resolve(pkgDir, "../..");
const tsc = createRequire(join(pkgDir, "package.json")).resolve("typescript/bin/tsc");
const work = mkdtempSync(join(tmpdir(), "agentlog-pack-check-"));
let failures = 0;

function step(name, ok, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? ` — ${detail}` : ""}`);
  if (!ok) failures++;
  return ok;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", ...opts });
  if (r.status !== 0) {
    console.error(`$ ${cmd} ${args.join(" ")}\n${r.stdout ?? ""}${r.stderr ?? ""}`);
  }
  return r;
}

function finish() {
  rmSync(work, { recursive: true, force: true });
  if (failures) {
    console.error(`pack-check: ${failures} check(s) failed`);
    process.exit(1);
  }
  console.log("pack-check: the packed package installs and works");
}

// ------------------------------------------------------------------ 1. pack and inspect

if (!existsSync(join(pkgDir, "dist/esm/node.js")) || !existsSync(join(pkgDir, "dist/cjs/node.js"))) {
  step("built package present", false, "run `npm run build` first");
  finish();
}
const pack = run("npm", ["pack", "--json", "--pack-destination", work], { cwd: pkgDir });
if (!step("npm pack", pack.status === 0)) finish();
const [packed] = JSON.parse(pack.stdout);
const files = packed.files.map((f) => f.path).sort();
const required = [
  "package.json",
  "README.md",
  "LICENSE",
  "dist/esm/node.js",
  "dist/esm/node.d.ts",
  "dist/esm/index.js",
  "dist/esm/index.d.ts",
  "dist/esm/package.json",
  "dist/esm/sender-worker.js",
  "dist/cjs/node.js",
  "dist/cjs/node.d.ts",
  "dist/cjs/index.js",
  "dist/cjs/index.d.ts",
  "dist/cjs/package.json",
  "dist/cjs/sender-worker.js",
];
const missing = required.filter((f) => !files.includes(f));
step("tarball has both builds, declarations, README and LICENSE", missing.length === 0, missing.length ? `missing ${missing.join(", ")}` : `${files.length} files, ${packed.size} bytes`);
const stray = files.filter((f) => /^(src|test|scripts|node_modules)\//.test(f) || f.endsWith(".tgz"));
step("tarball has no sources, tests or scripts", stray.length === 0, stray.join(", "));
const manifest = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
step("no runtime dependencies", !manifest.dependencies && !manifest.peerDependencies && !manifest.optionalDependencies);

// ------------------------------------------------------------------ install in a fresh directory

const app = join(work, "app");
run("mkdir", ["-p", app]);
writeFileSync(join(app, "package.json"), JSON.stringify({ name: "pack-check-app", private: true, version: "1.0.0" }));
const install = run("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", join(work, packed.filename)], { cwd: app });
if (!step("npm install <tarball> in a fresh directory", install.status === 0)) finish();

// ------------------------------------------------------------------ 2. ESM and CJS programs

const program = (importLine) => `${importLine}
const threads = () => { try { return require("node:fs").readdirSync("/proc/self/task").length; } catch { return null; } };
const threadsBefore = threads();
const client = new AgentLog({ apiKey: "k", onError: (e) => console.error("onError", e.code, e.message) });
const session = client.session({ name: "pack-check" });
async function main() {
  await session.span("agent", "root", async () => {
    await new Promise((r) => setTimeout(r, 2));
    await client.span("tool", "child", async () => {
      await new Promise((r) => setTimeout(r, 1));
      client.log({ name: "grandchild" });
      return { ok: true };
    });
  });
  let rethrown = false; // "fails" runs outside the session: it goes to the implicit session (announced + ended)
  const boom = new Error("boom");
  try { client.span("tool", "fails", () => { throw boom; }); } catch (e) { rethrown = e === boom; }
  session.end({ status: "success" });
  const threadsWhileSending = threads();
  await client.shutdown();
  console.log(JSON.stringify({ rethrown, stats: client.stats(), version: VERSION, senderThread: threadsBefore === null ? null : threadsWhileSending > threadsBefore }));
}
main();
`;
writeFileSync(join(app, "esm.mjs"), program('import { createRequire } from "node:module";\nconst require = createRequire(import.meta.url);\nimport { AgentLog, VERSION } from "@agentlog/sdk";'));
writeFileSync(join(app, "cjs.cjs"), program('const { AgentLog, VERSION } = require("@agentlog/sdk");'));

async function capture(file) {
  const received = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      let raw = Buffer.concat(chunks);
      if (req.headers["content-encoding"] === "gzip") raw = gunzipSync(raw);
      const body = JSON.parse(raw.toString("utf8"));
      received.push({ url: req.url, auth: req.headers.authorization, body });
      const n = body.events.length + body.sessions.length;
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ accepted: n, rejected: 0, errors: [], ids: body.events.map((e) => e.id) }));
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${server.address().port}`;
  const out = await new Promise((resolvePromise) => {
    const p = spawn(process.execPath, [file], { cwd: app, env: { ...process.env, AGENTLOG_URL: url }, stdio: ["ignore", "pipe", "inherit"] });
    let text = "";
    p.stdout.on("data", (d) => (text += d));
    p.on("exit", (code) => resolvePromise({ code, text }));
  });
  server.close();
  return { ...out, received };
}

for (const file of ["esm.mjs", "cjs.cjs"]) {
  const { code, text, received } = await capture(file);
  let result = {};
  try {
    result = JSON.parse(text.trim().split("\n").pop() ?? "{}");
  } catch {
    // reported below
  }
  const events = received.flatMap((r) => r.body.events);
  const byName = Object.fromEntries(events.map((e) => [e.name, e]));
  const nested =
    byName.root && byName.child && byName.grandchild && byName.fails &&
    byName.child.parent_id === byName.root.id && byName.grandchild.parent_id === byName.child.id &&
    byName.fails.status === "error" && byName.fails.error?.message === "boom";
  step(
    `${file}: records nested spans through the installed package, from its sender thread`,
    code === 0 && nested && result.rethrown === true && result.stats?.sent === 8 && result.stats?.enqueued === 8 && result.version === manifest.version &&
      result.senderThread !== false &&
      received.every((r) => r.url === "/v1/ingest" && r.auth === "Bearer k"),
    `exit ${code}, ${events.length} events, stats ${JSON.stringify(result.stats)}, sender thread ${result.senderThread ?? "not counted (no /proc)"}`,
  );
}

// ------------------------------------------------------------------ 3. TypeScript consumers

const tsUse = `
declare const fromEnv: string | undefined;
const client = new AgentLog({ url: fromEnv, agent: "a", onError: (e: AgentLogError) => void e.code });
const n: number = client.span("tool", "t", (s: Span) => { s.update({ output: 1 }); return 1; });
const p: Promise<string> = client.span("llm", "c", async () => "x", { model: "m", usage: { inputTokens: 1 } });
const session: Session = client.session({ name: "n", tags: ["t"], metadata: { k: 1 } });
const id: string = session.log({ type: "log", name: "e", costUsd: 0.1, startedAt: new Date() });
const stats: AgentLogStats = client.stats();
const fields: EventFields = { parentId: null };
void [n, p, id, stats, fields];
session.end({ status: "success" });
void client.flush({ timeoutMs: 10 }).then(() => client.shutdown());
`;
const tsImport = 'import { AgentLog, AgentLogError, Session, Span, type AgentLogStats, type EventFields } from "@agentlog/sdk";';
writeFileSync(join(app, "esm.mts"), tsImport + tsUse);
writeFileSync(join(app, "cjs.cts"), tsImport + tsUse);
writeFileSync(join(app, "legacy.ts"), tsImport + tsUse);
const strict = { strict: true, exactOptionalPropertyTypes: true, noEmit: true, types: [], lib: ["ES2022"], skipLibCheck: false, target: "ES2022" };
writeFileSync(join(app, "tsconfig.nodenext.json"), JSON.stringify({ compilerOptions: { ...strict, module: "NodeNext", moduleResolution: "NodeNext" }, files: ["esm.mts", "cjs.cts"] }));
writeFileSync(join(app, "tsconfig.node10.json"), JSON.stringify({ compilerOptions: { ...strict, module: "CommonJS", moduleResolution: "Node10" }, files: ["legacy.ts"] }));
for (const config of ["tsconfig.nodenext.json", "tsconfig.node10.json"]) {
  const r = run(process.execPath, [tsc, "-p", config], { cwd: app });
  step(`TypeScript consumer type-checks (${config.replace(/^tsconfig\.|\.json$/g, "")}, no @types, no DOM)`, r.status === 0);
}

// ------------------------------------------------------------------ 4. README quick start against the real server

const bin = process.env.AGENTLOG_BIN || join(repo, "build/agentlog");
const readme = readFileSync(join(pkgDir, "README.md"), "utf8");
const snippet = /<!-- quickstart:start -->\s*```js\n([\s\S]*?)```\s*<!-- quickstart:end -->/.exec(readme)?.[1];
if (!step("README has a quick start snippet", Boolean(snippet))) finish();
writeFileSync(join(app, "quickstart.mjs"), snippet);

if (!existsSync(bin)) {
  console.log(`SKIP README quick start against the real server: no server binary at ${bin} (build it with \`make build\` or set AGENTLOG_BIN)`);
} else {
  const key = "al_" + "packcheck".padEnd(40, "0");
  const data = join(work, "data");
  const server = spawn(bin, ["serve", "--listen", "127.0.0.1:0", "--data", data], {
    env: { ...process.env, AGENTLOG_API_KEY: key, AGENTLOG_LOG: "info" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const base = await new Promise((resolvePromise) => {
    let buf = "";
    const timer = setTimeout(() => resolvePromise(undefined), 20_000);
    server.stderr.on("data", (d) => {
      buf += d;
      const m = /listening on (http:\/\/[0-9.]+:[0-9]+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolvePromise(m[1]);
      }
    });
  });
  const api = async (path) => {
    const r = await fetch(base + path, { headers: { Authorization: `Bearer ${key}` } });
    return { status: r.status, body: await r.json().catch(() => null) };
  };
  try {
    if (step("agentlog server started", Boolean(base))) {
      for (let i = 0; i < 200 && (await fetch(base + "/readyz").then((r) => r.status, () => 0)) !== 200; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const env = { ...process.env, AGENTLOG_URL: base, AGENTLOG_API_KEY: key };
      const r = run(process.execPath, ["quickstart.mjs"], { cwd: app, env });
      const sid = /^session (\S+)$/m.exec(r.stdout ?? "")?.[1];
      if (step("README quick start runs", r.status === 0 && Boolean(sid), (r.stdout ?? "").trim().replace(/\n/g, " | "))) {
        const tree = await api(`/v1/sessions/${encodeURIComponent(sid)}/events?tree=true`);
        const session = await api(`/v1/sessions/${encodeURIComponent(sid)}`);
        const roots = tree.body?.data ?? [];
        const root = roots[0];
        const kids = Object.fromEntries((root?.children ?? []).map((c) => [c.name, c]));
        step(
          "the API shows the quick start session nested: plan_trip > search_flights, chat",
          tree.status === 200 && roots.length === 1 && root.name === "plan_trip" && root.type === "agent" &&
            root.children.length === 2 && kids.search_flights?.type === "tool" && kids.chat?.type === "llm" &&
            kids.chat.model === "gpt-4o" && kids.chat.usage?.input_tokens === 42 && kids.chat.output === "Found 1 flight(s) to Lisbon",
          JSON.stringify(roots.map((e) => [e.name, (e.children ?? []).map((c) => c.name)])),
        );
        step(
          "the quick start session is stored with its name, agent, user and status",
          session.status === 200 && session.body.name === "Plan a trip to Lisbon" && session.body.agent === "trip-planner" &&
            session.body.user_id === "user-42" && session.body.status === "success" && session.body.event_count === 3,
          JSON.stringify(session.body),
        );
      }
    }
  } finally {
    server.kill("SIGTERM");
    await new Promise((r) => server.on("exit", r));
  }
}

finish();
