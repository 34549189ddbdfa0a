// A new installation: no data yet, so the pages say how to send the first event.
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screenshot } from "./helpers";
import { startServer, launchChromium, USERS } from "./server.mjs";

let server: Awaited<ReturnType<typeof startServer>>;
let b: Browser;

beforeAll(async () => {
  server = await startServer({ seed: false, users: ["admin"] });
  b = await launchChromium();
});
afterAll(async () => {
  await b?.close();
  await server?.stop();
});

describe("empty state", () => {
  it("shows copyable curl and SDK snippets, and the first event then appears live", async () => {
    const context = await b.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: "dark", baseURL: server.url });
    await context.grantPermissions(["clipboard-read", "clipboard-write"]);
    const page = await context.newPage();
    await page.goto("/login");
    await page.fill("input[name=email]", USERS.admin.email);
    await page.fill("input[name=password]", USERS.admin.password);
    await page.click("button[type=submit]");
    const start = page.locator("[data-testid=get-started]");
    await start.waitFor();
    const snippet = (await start.locator("pre").textContent()) ?? "";
    expect(snippet).toContain(`${server.url}/v1/ingest`);
    expect(snippet).toContain("Authorization: Bearer $AGENTLOG_API_KEY");
    await screenshot(page, "empty");
    await start.locator(".snippet .copy").click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(snippet);
    for (const [tab, text] of [["Python", "pip install ./sdks/python"], ["TypeScript", "@agentlog/sdk"], ["Go", "agentlog.New"]] as const) {
      await start.getByRole("tab", { name: tab }).click();
      expect(await start.locator("pre").textContent()).toContain(text);
    }
    // Run the curl snippet's request: the session shows up on this page.
    const body = snippet.slice(snippet.indexOf("-d '") + 4, snippet.lastIndexOf("'"));
    await server.ingest(JSON.parse(body));
    await page.locator("[data-session-id=hello-1]").waitFor({ timeout: 5000 });
    await context.close();
  });
});
