// The agents overview: per-agent table and the uPlot charts.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browser, eventually, login, newPage } from "./helpers";

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

describe("agents overview", () => {
  it("lists the demo agents with their rollups", async () => {
    await page.goto("/agents");
    const table = page.locator("[data-testid=agents-table]");
    await table.waitFor();
    const agents = await table.locator("tbody tr").evaluateAll((els) => els.map((e) => e.getAttribute("data-agent")));
    for (const a of ["research-assistant", "support-bot", "code-reviewer", "travel-planner"]) expect(agents).toContain(a);
    const support = await table.locator("tr[data-agent=support-bot]").textContent();
    expect(support).toMatch(/\$\d/);
    expect(support).toMatch(/%/);
  });

  it("renders the three charts (uPlot loaded on demand)", async () => {
    await page.goto("/agents");
    for (const id of ["chart-events", "chart-errors", "chart-cost"]) {
      const canvas = page.locator(`[data-testid=${id}] canvas`);
      await canvas.waitFor();
      const box = await canvas.boundingBox();
      expect(box!.width).toBeGreaterThan(200);
      expect(box!.height).toBeGreaterThan(100);
    }
    // The events chart has drawn something: some canvas pixels are not blank.
    const painted = await page.locator("[data-testid=chart-events] canvas").evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
      return n;
    });
    expect(painted).toBeGreaterThan(500);
    expect(await page.locator("[data-testid=chart-events] .u-legend").textContent()).toContain("support-bot");
  });

  it("switches the range and opens an agent's sessions", async () => {
    await page.goto("/agents");
    await page.locator("[data-testid=agents-table]").waitFor();
    await page.getByRole("tab", { name: "24h" }).click();
    await page.waitForURL(/range=24h/);
    await page.getByRole("tab", { name: "30d" }).click();
    await page.waitForURL(/range=30d/);
    await page.locator("[data-testid=chart-cost] canvas").waitFor();
    await page.locator("tr[data-agent=code-reviewer]").click();
    await page.waitForURL(/\/sessions\?agent=code-reviewer/);
    await eventually(async () => {
      const agents = await page.locator("[data-session-id] > span:nth-child(1)").allTextContents();
      return agents.length > 0 && agents.every((a) => a === "code-reviewer");
    }, 5000, "code-reviewer sessions");
  });
});
