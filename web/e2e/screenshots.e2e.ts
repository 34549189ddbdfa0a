// The pictures in docs/screenshots, taken on a server of their own with only the demo
// data (plus one hand-made session), so they do not change with the other tests.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { login, newPage, screenshot } from "./helpers";
import { launchChromium, startServer } from "./server.mjs";

let server: Awaited<ReturnType<typeof startServer>>;
let b: Browser;
let page: Page;
const sid = "weather-42";

beforeAll(async () => {
  server = await startServer({ users: ["admin"] });
  const t0 = Date.now() - 90_000;
  const at = (ms: number) => new Date(t0 + ms).toISOString();
  const call = { id: "call_42", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } };
  await server.ingest({
    sessions: [{ id: sid, name: "What's the weather in Paris?", agent: "support-bot", user_id: "user-07", tags: ["demo"], status: "success", started_at: at(0), ended_at: at(5200) }],
    events: [
      { id: `${sid}-root`, session_id: sid, type: "agent", name: "answer", started_at: at(0), ended_at: at(5200) },
      { id: `${sid}-plan`, session_id: sid, parent_id: `${sid}-root`, type: "llm", name: "plan", model: "gpt-4o", provider: "openai", started_at: at(80), ended_at: at(1300), usage: { input_tokens: 120, output_tokens: 30 }, cost_usd: 0.0009,
        input: { messages: [{ role: "system", content: "You answer weather questions. Use tools." }, { role: "user", content: "What's the weather in Paris?" }] },
        output: { choices: [{ message: { role: "assistant", content: null, tool_calls: [call] } }] } },
      { id: `${sid}-tool`, session_id: sid, parent_id: `${sid}-root`, type: "tool", name: "get_weather", started_at: at(1350), ended_at: at(2450), input: { city: "Paris" }, output: { temp_c: 18, sky: "clear", wind_kmh: 9 } },
      { id: `${sid}-respond`, session_id: sid, parent_id: `${sid}-root`, type: "llm", name: "respond", model: "gpt-4o", provider: "openai", started_at: at(2500), ended_at: at(4300), usage: { input_tokens: 210, output_tokens: 18 }, cost_usd: 0.0012,
        input: { messages: [{ role: "system", content: "You answer weather questions. Use tools." }, { role: "user", content: "What's the weather in Paris?" }, { role: "assistant", content: null, tool_calls: [call] }, { role: "tool", tool_call_id: "call_42", content: '{"temp_c": 18, "sky": "clear", "wind_kmh": 9}' }] },
        output: { choices: [{ message: { role: "assistant", content: "It's 18 °C and clear in Paris, with a light breeze." } }] } },
      { id: `${sid}-notify`, session_id: sid, parent_id: `${sid}-root`, type: "tool", name: "send_sms", started_at: at(4400), ended_at: at(4900), error: { type: "TimeoutError", message: "sms gateway did not answer within 500 ms" } },
    ],
  });
  b = await launchChromium();
  ({ page } = await newPage(b, "dark", server.url));
});
afterAll(async () => {
  await b?.close();
  await server?.stop();
});

const ready = (p: Page) => p.locator("[data-testid=waterfall][data-ready]").waitFor();

describe("screenshots", () => {
  it("log-in", async () => {
    await page.goto("/login");
    await page.locator("input[name=email]").waitFor();
    await screenshot(page, "login");
  });

  it("sessions (dark and light)", async () => {
    await login(page, "admin");
    await page.goto("/sessions");
    await page.locator("[data-session-id]").first().waitFor();
    await screenshot(page, "sessions");
    const light = await newPage(b, "light", server.url);
    await login(light.page, "admin");
    await light.page.goto("/sessions");
    await light.page.locator("[data-session-id]").first().waitFor();
    await screenshot(light.page, "sessions-light");
    await light.context.close();
  });

  it("session timeline and inspector", async () => {
    await page.goto("/sessions/demo-035?event=demo-035-02");
    await ready(page);
    await page.locator("[data-testid=inspector]").waitFor();
    await screenshot(page, "session-timeline");
    await page.goto(`/sessions/${sid}?event=${sid}-respond`);
    await page.locator("[data-testid=inspector] .msg").first().waitFor();
    await screenshot(page, "session-inspector");
  });

  it("replay", async () => {
    await page.goto("/sessions/demo-041?replay=6");
    await ready(page);
    expect(await page.locator("[data-testid=replay-pos]").textContent()).toMatch(/^7 \//);
    await screenshot(page, "replay");
  });

  it("event search", async () => {
    await page.goto("/events?q=refund");
    await page.locator("[data-testid=events-table] [data-event-id]").first().waitFor();
    await screenshot(page, "events");
  });

  it("agents", async () => {
    await page.goto("/agents");
    await page.locator("[data-testid=chart-cost] canvas").waitFor();
    await screenshot(page, "agents");
  });
});
