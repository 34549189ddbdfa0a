// Shared steps of the end-to-end tests.
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { inject } from "vitest";
import { launchChromium, USERS } from "./server.mjs";

export { USERS };
export const baseUrl = (): string => inject("baseUrl");

// The pictures change with every run (relative times, random demo data): a test run
// keeps its own, and `make screenshots` refreshes the ones in the docs.
const shots =
  process.env.AGENTLOG_UPDATE_SCREENSHOTS === "1"
    ? resolve(dirname(fileURLToPath(import.meta.url)), "../../docs/screenshots")
    : join(tmpdir(), "agentlog-screenshots");

/** Calls the API with the suite's API key (as an agent or SDK would). */
export async function api(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(baseUrl() + path, {
    ...init,
    headers: { Authorization: `Bearer ${inject("apiKey")}`, "Content-Type": "application/json", ...(init.headers as Record<string, string>) },
  });
}

export async function ingest(body: unknown): Promise<{ accepted: number; ids: (string | null)[] }> {
  const r = await api("/v1/ingest", { method: "POST", body: JSON.stringify(body) });
  if (r.status !== 200) throw new Error(`ingest: ${r.status} ${await r.text()}`);
  return (await r.json()) as { accepted: number; ids: (string | null)[] };
}

export async function browser(): Promise<Browser> {
  return launchChromium();
}

/** A fresh context (own cookies and storage) at a laptop-sized viewport, dark theme. */
export async function newPage(
  b: Browser,
  colorScheme: "dark" | "light" = "dark",
  url: string = baseUrl(),
): Promise<{ page: Page; context: BrowserContext }> {
  const context = await b.newContext({ viewport: { width: 1440, height: 900 }, colorScheme, baseURL: url });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  (page as Page & { errors: string[] }).errors = errors;
  return { page, context };
}

export async function login(page: Page, who: keyof typeof USERS): Promise<void> {
  const u = USERS[who];
  await page.goto("/login");
  await page.fill("input[name=email]", u.email);
  await page.fill("input[name=password]", u.password);
  await page.click("button[type=submit]");
  await page.waitForURL((url) => !url.pathname.startsWith("/login"));
  await page.locator("[data-testid=current-user]").waitFor();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: `${shots}/${name}.png` });
}

/** Polls until `fn` returns a truthy value (or throws the last error after `ms`). */
export async function eventually<T>(fn: () => Promise<T> | T, ms = 5000, what = "condition"): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = new Error(`${what}: got ${JSON.stringify(v)}`);
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw last instanceof Error ? last : new Error(String(last));
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function texts(l: Locator): Promise<string[]> {
  return (await l.allTextContents()).map((t) => t.trim());
}

export const nowIso = (offsetMs = 0): string => new Date(Date.now() + offsetMs).toISOString();

/** A unique suffix so tests sharing the server never see each other's data. */
export const uniq = (): string => Math.random().toString(36).slice(2, 8);
