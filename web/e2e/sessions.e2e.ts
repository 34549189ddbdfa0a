// The sessions list: filters, search, sort, infinite scroll, keyboard, theme.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browser, eventually, ingest, login, newPage, texts, uniq } from "./helpers";

let b: Browser;
let page: Page;
const agent = `bulk-${uniq()}`;

beforeAll(async () => {
  // 130 sessions of one agent: more than one page (100), for infinite scroll and sort.
  // 40 days back: out of the default views (and the agents page's 30-day range) of other files.
  const base = Date.now() - 40 * 86400e3;
  const sessions = Array.from({ length: 130 }, (_, i) => ({
    id: `${agent}-${String(i).padStart(3, "0")}`,
    name: i === 7 ? "Needle in the haystack" : `bulk run ${i}`,
    agent,
    status: i % 10 === 0 ? "failure" : "success",
    tags: i % 2 ? ["odd"] : ["even"],
    started_at: new Date(base + i * 1000).toISOString(),
    ended_at: new Date(base + i * 1000 + 500).toISOString(),
  }));
  const events = sessions.map((s, i) => ({ session_id: s.id, type: "llm", name: "chat", started_at: s.started_at, cost_usd: i / 1000, usage: { input_tokens: i, output_tokens: 1 } }));
  await ingest({ sessions, events });
  b = await browser();
  ({ page } = await newPage(b));
  await login(page, "admin");
});
afterAll(async () => {
  await b?.close();
});

const rows = (p: Page) => p.locator("[data-testid=sessions-table] [data-session-id]");
const footer = (p: Page) => p.locator("[data-testid=sessions-table] .tfoot");

describe("sessions list", () => {
  it("shows the seeded sessions with their columns", async () => {
    await page.goto("/sessions");
    await rows(page).first().waitFor();
    expect(await rows(page).count()).toBeGreaterThan(10);
    const head = await texts(page.locator("[data-testid=sessions-table] .thead > *"));
    expect(head.map((h) => h.replace(/[↓↑]/g, "").trim())).toEqual(["Agent", "Name", "Status", "Started", "Duration", "Events", "Errors", "Tokens", "Cost"]);
  });

  it("filters by agent and status, in the URL", async () => {
    await page.goto("/sessions");
    await page.getByLabel("Agent").selectOption("support-bot");
    await page.waitForURL(/agent=support-bot/);
    await eventually(async () => {
      const agents = await texts(rows(page).locator(":scope > span:nth-child(1)"));
      return agents.length > 0 && agents.every((a) => a === "support-bot");
    }, 5000, "only support-bot rows");
    await page.getByLabel("Status").selectOption("failure");
    await page.waitForURL(/status=failure/);
    await eventually(async () => {
      const st = await texts(rows(page).locator(".badge"));
      const agents = await texts(rows(page).locator(":scope > span:nth-child(1)"));
      return st.length > 0 && st.every((s) => s === "failure") && agents.every((a) => a === "support-bot");
    }, 5000, "only failed support-bot rows");
    // The link restores the same view.
    const url = page.url();
    await page.goto("about:blank");
    await page.goto(url);
    expect(await page.getByLabel("Status").inputValue()).toBe("failure");
  });

  it("searches with the box (and / focuses it)", async () => {
    await page.goto("/sessions");
    await rows(page).first().waitFor();
    await page.keyboard.press("/");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("data-search"))).not.toBeNull();
    await page.keyboard.type("needle in the");
    await page.waitForURL(/q=needle/);
    await eventually(async () => {
      const names = await texts(rows(page).locator(":scope > span:nth-child(2)"));
      return names.length === 1 && names[0] === "Needle in the haystack";
    }, 5000, "one match");
  });

  it("filters by tag", async () => {
    await page.goto(`/sessions?agent=${agent}`);
    await rows(page).first().waitFor();
    await page.getByLabel("Tag").fill("odd");
    await page.getByLabel("Tag").press("Enter");
    await page.waitForURL(/tag=odd/);
    await eventually(async () => {
      const ids = await rows(page).evaluateAll((els) => els.map((e) => e.getAttribute("data-session-id")!));
      return ids.length > 0 && ids.every((id) => Number(id.slice(-3)) % 2 === 1);
    }, 5000, "only odd sessions");
  });

  it("loads further pages as it scrolls (130 sessions, pages of 100)", async () => {
    await page.goto(`/sessions?agent=${agent}&sort=started_at`);
    await rows(page).first().waitFor();
    expect(await footer(page).textContent()).toContain("scroll for more");
    const list = page.locator("[data-testid=sessions-table] .vlist");
    // Virtualized: far fewer rows in the DOM than loaded.
    expect(await rows(page).count()).toBeLessThan(60);
    await eventually(async () => {
      await list.evaluate((el) => (el.scrollTop = el.scrollHeight));
      return (await footer(page).textContent())?.startsWith("130 sessions");
    }, 8000, "all 130 loaded");
    // The last page is at the end of the list.
    await eventually(async () => {
      await list.evaluate((el) => (el.scrollTop = el.scrollHeight));
      return (await rows(page).last().getAttribute("data-session-id")) === `${agent}-129`;
    }, 5000, "the last session at the bottom");
  });

  it("sorts by cost, descending", async () => {
    await page.goto(`/sessions?agent=${agent}`);
    await rows(page).first().waitFor();
    await page.getByLabel("Sort").selectOption("-cost_usd");
    await page.waitForURL(/sort=-cost_usd/);
    await eventually(async () => (await rows(page).first().getAttribute("data-session-id")) === `${agent}-129`, 5000, "most expensive first");
  });

  it("moves with j/k and opens with Enter", async () => {
    await page.goto(`/sessions?agent=${agent}&sort=started_at`);
    await rows(page).first().waitFor();
    await page.keyboard.press("j");
    await page.keyboard.press("j");
    await page.keyboard.press("k");
    expect(await page.locator(".trow.selected").getAttribute("data-session-id")).toBe(`${agent}-000`);
    await page.keyboard.press("j");
    await page.keyboard.press("Enter");
    await page.waitForURL(new RegExp(`/sessions/${agent}-001$`));
  });

  it("switches theme and remembers it", async () => {
    await page.goto("/sessions");
    await rows(page).first().waitFor();
    const before = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.click("[data-testid=theme-toggle]");
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe("light");
    const after = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(after).not.toBe(before);
    await page.reload();
    await rows(page).first().waitFor();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe("light");
    await page.click("[data-testid=theme-toggle]");
  });
});
