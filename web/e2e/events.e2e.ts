// Event search across sessions, and results that open the session at the event.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browser, eventually, ingest, login, newPage, texts, uniq } from "./helpers";

let b: Browser;
let page: Page;
const word = `zebra${uniq()}`;

beforeAll(async () => {
  const now = Date.now();
  await ingest({
    events: [
      { id: `${word}-a`, session_id: `${word}-s1`, agent: "search-agent", type: "llm", name: "chat", model: "gpt-4o", started_at: new Date(now - 3000).toISOString(), input: { messages: [{ role: "user", content: `tell me about the ${word}` }] } },
      { id: `${word}-b`, session_id: `${word}-s2`, agent: "search-agent", type: "tool", name: "lookup", started_at: new Date(now - 2000).toISOString(), output: { found: `${word} facts` } },
      { id: `${word}-c`, session_id: `${word}-s2`, agent: "search-agent", type: "tool", name: "lookup", started_at: new Date(now - 1000).toISOString(), error: { type: "IOError", message: `${word} service down` } },
    ],
  });
  b = await browser();
  ({ page } = await newPage(b));
  await login(page, "admin");
});
afterAll(async () => {
  await b?.close();
});

const results = (p: Page) => p.locator("[data-testid=events-table] [data-event-id]");

describe("event search", () => {
  it("finds events by text across sessions, newest first", async () => {
    await page.goto("/events");
    await page.locator("[data-search]").fill(word);
    await page.waitForURL(new RegExp(`q=${word}`));
    await eventually(async () => (await results(page).count()) === 3, 5000, "three matches");
    const ids = await results(page).evaluateAll((els) => els.map((e) => e.getAttribute("data-event-id")));
    expect(ids).toEqual([`${word}-c`, `${word}-b`, `${word}-a`]);
  });

  it("combines text with type and status filters", async () => {
    await page.goto(`/events?q=${word}`);
    await results(page).first().waitFor();
    await page.getByLabel("Type").selectOption("tool");
    await eventually(async () => (await results(page).count()) === 2, 5000, "two tool events");
    await page.getByLabel("Status").selectOption("error");
    await eventually(async () => (await results(page).count()) === 1, 5000, "one failed tool event");
    expect(await results(page).first().getAttribute("data-event-id")).toBe(`${word}-c`);
  });

  it("filters the demo data by type and model", async () => {
    await page.goto("/events?type=llm&model=gpt-4o-mini");
    await results(page).first().waitFor();
    const models = await texts(results(page).locator(":scope > span:nth-child(7)"));
    expect(models.length).toBeGreaterThan(0);
    expect(models.every((m) => m === "gpt-4o-mini")).toBe(true);
  });

  it("opens the session at the chosen event", async () => {
    await page.goto(`/events?q=${word}&type=llm`);
    await results(page).first().click();
    await page.waitForURL((u) => u.pathname === `/sessions/${word}-s1` && u.searchParams.get("event") === `${word}-a`);
    const insp = page.locator("[data-testid=inspector]");
    await insp.waitFor();
    expect(await insp.getAttribute("data-event-id")).toBe(`${word}-a`);
    expect(await insp.textContent()).toContain(`tell me about the ${word}`);
  });
});
