// Starts the real agentlog binary for the end-to-end suite and the dashboard benchmark:
// a temp data dir, migrate, seed, users, `serve` on a free port with a known API key.
// Plain JavaScript (with JSDoc types) so bench/dashboard.mjs can import it without a build.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

const here = dirname(fileURLToPath(import.meta.url));

export const API_KEY = "al_e2eDashboardKey000000000000000000000000";
export const USERS = {
  admin: { email: "admin@e2e.test", password: "admin-password-1", role: "admin" },
  member: { email: "member@e2e.test", password: "member-password-1", role: "member" },
  viewer: { email: "viewer@e2e.test", password: "viewer-password-1", role: "viewer" },
};

/** The binary: $AGENTLOG_BIN, else build/agentlog at the repository root. */
export function agentlogBin() {
  const bin = process.env.AGENTLOG_BIN ? resolve(process.env.AGENTLOG_BIN) : resolve(here, "../../build/agentlog");
  if (!existsSync(bin)) throw new Error(`agentlog binary not found at ${bin} (set AGENTLOG_BIN or run make build)`);
  return bin;
}

/**
 * @typedef {object} Server
 * @property {string} url        base URL, e.g. http://127.0.0.1:43121
 * @property {string} dataDir
 * @property {(path: string, init?: RequestInit) => Promise<Response>} api  fetch with the API key
 * @property {(body: unknown) => Promise<any>} ingest  POST /v1/ingest, throws unless 200
 * @property {() => Promise<void>} stop
 */

/**
 * @param {{ seed?: boolean, users?: (keyof typeof USERS)[], env?: Record<string, string> }} [opts]
 * @returns {Promise<Server>}
 */
export async function startServer(opts = {}) {
  const bin = agentlogBin();
  const dataDir = mkdtempSync(join(tmpdir(), "agentlog-web-"));
  const run = (/** @type {string[]} */ args) => execFileSync(bin, [...args, "--data", dataDir], { stdio: ["ignore", "pipe", "pipe"] });
  run(["migrate"]);
  if (opts.seed ?? true) run(["seed", "--demo"]);
  for (const name of opts.users ?? ["admin", "member", "viewer"]) {
    const u = USERS[name];
    run(["users", "create", "--email", u.email, "--password", u.password, "--role", u.role]);
  }
  const child = spawn(bin, ["serve", "--listen", "127.0.0.1:0", "--data", dataDir], {
    env: { ...process.env, AGENTLOG_API_KEY: API_KEY, AGENTLOG_LOG: "info", ...opts.env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  /** @type {string[]} */
  const stderr = [];
  const url = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`agentlog did not start in 10 s:\n${stderr.join("\n")}`)), 10000);
    const rl = createInterface({ input: child.stderr });
    rl.on("line", (line) => {
      if (stderr.length < 200) stderr.push(line);
      const m = /listening on http:\/\/([0-9.]+):([0-9]+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        res(`http://${m[1]}:${m[2]}`);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`agentlog exited with ${code}:\n${stderr.join("\n")}`));
    });
  });
  for (let i = 0; ; i++) {
    const r = await fetch(`${url}/readyz`).catch(() => null);
    if (r?.status === 200) break;
    if (i > 100) throw new Error("agentlog /readyz never answered 200");
    await new Promise((r) => setTimeout(r, 50));
  }
  const api = (/** @type {string} */ path, /** @type {RequestInit} */ init = {}) =>
    fetch(url + path, { ...init, headers: { Authorization: `Bearer ${API_KEY}`, "Content-Type": "application/json", ...init.headers } });
  return {
    url,
    dataDir,
    api,
    async ingest(/** @type {unknown} */ body) {
      const r = await api("/v1/ingest", { method: "POST", body: JSON.stringify(body) });
      if (r.status !== 200) throw new Error(`ingest answered ${r.status}: ${await r.text()}`);
      return r.json();
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Launches Debian's Chromium through playwright-core (no browser download). */
export async function launchChromium() {
  const { chromium } = await import("playwright-core");
  const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!existsSync(executablePath)) throw new Error(`${executablePath} not found (Debian: apt-get install chromium)`);
  return chromium.launch({ executablePath, headless: true, args: ["--no-sandbox"] });
}
