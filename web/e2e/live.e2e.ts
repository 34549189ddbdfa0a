// Live updates: sessions and events being ingested appear without a reload.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, browser, eventually, ingest, login, newPage, nowIso, uniq } from "./helpers";

let b: Browser;
let page: Page;

beforeAll(async () => {
  b = await browser();
  ({ page } = await newPage(b));
  await login(page, "admin");
});
afterAll(async () => {
  await b?.close();
});

/** Marks the window: if the page reloads, the mark is gone. */
const mark = (p: Page) => p.evaluate(() => ((window as unknown as { __mark: number }).__mark = 42));
const marked = (p: Page) => p.evaluate(() => (window as unknown as { __mark?: number }).__mark === 42);

describe("live", () => {
  it("a new session appears in the open sessions list", async () => {
    const agent = `live-list-${uniq()}`;
    await ingest({ sessions: [{ id: `${agent}-old`, agent, name: "already here", started_at: nowIso(-60_000) }] });
    await page.goto(`/sessions?agent=${agent}`);
    await page.locator("[data-session-id]").first().waitFor();
    await mark(page);
    await ingest({ events: [{ session_id: `${agent}-new`, agent, type: "step", name: "first step", started_at: nowIso() }] });
    await eventually(async () => (await page.locator(`[data-session-id="${agent}-new"]`).count()) === 1, 5000, "new session row");
    // Newest first: it goes on top.
    expect(await page.locator("[data-session-id]").first().getAttribute("data-session-id")).toBe(`${agent}-new`);
    // Rollups update live too.
    await ingest({ events: [{ session_id: `${agent}-new`, type: "tool", name: "t", started_at: nowIso(), status: "error", error: "boom" }] });
    await eventually(async () => ((await page.locator(`[data-session-id="${agent}-new"] > span:nth-child(7)`).textContent()) ?? "").trim() === "1", 5000, "error count 1");
    expect(await marked(page)).toBe(true);
  });

  it("a running session being ingested updates its open view without reload", async () => {
    const sid = `live-${uniq()}`;
    await ingest({
      sessions: [{ id: sid, name: "live run", agent: "live-agent", status: "running", started_at: nowIso(-2000) }],
      events: [{ id: `${sid}-root`, session_id: sid, type: "agent", name: "run", started_at: nowIso(-2000), status: "running" }],
    });
    await page.goto(`/sessions/${sid}`);
    await page.locator("[data-testid=waterfall][data-ready]").waitFor();
    await eventually(async () => ((await page.locator("[data-testid=live-state]").textContent()) ?? "").includes("live"), 5000, "stream open");
    await mark(page);
    for (let i = 0; i < 5; i++) {
      await ingest({ events: [{ id: `${sid}-e${i}`, session_id: sid, parent_id: `${sid}-root`, type: i % 2 ? "tool" : "llm", name: `step ${i}`, started_at: nowIso(), ended_at: nowIso(5) }] });
      await eventually(async () => (await page.locator(`[data-event-id="${sid}-e${i}"]`).count()) === 1, 3000, `event ${i} visible`);
    }
    await eventually(async () => (await page.locator("[data-testid=event-count]").textContent())?.startsWith("6"), 3000, "header count 6");
    // The running root completes: re-sent with the same id, it is replaced in place.
    await ingest({
      sessions: [{ id: sid, status: "success" }],
      events: [{ id: `${sid}-root`, session_id: sid, type: "agent", name: "run", started_at: nowIso(-2000), ended_at: nowIso(), status: "ok" }],
    });
    await eventually(async () => (await page.locator(`[data-event-id="${sid}-root"] .run-mark`).count()) === 0, 3000, "root no longer running");
    await eventually(async () => (await page.locator(".session-title .badge").first().textContent()) === "success", 3000, "status success");
    expect(await page.locator("[data-testid=waterfall] .wf-row").count()).toBe(6);
    expect(await marked(page)).toBe(true);
  });

  it("a session page opened before the session exists shows it when it starts", async () => {
    const sid = `early-${uniq()}`;
    await page.goto(`/sessions/${sid}`);
    await page.getByText(`No session “${sid}”`).waitFor();
    await page.waitForTimeout(300); // let the stream connect
    await ingest({ events: [{ id: `${sid}-1`, session_id: sid, type: "llm", name: "hello", started_at: nowIso() }] });
    await page.locator(`[data-event-id="${sid}-1"]`).waitFor({ timeout: 5000 });
    expect((await api(`/v1/sessions/${sid}`)).status).toBe(200);
  });
});
