// One session: waterfall, tree, inspector with a rendered conversation, JSON filter,
// zoom, deep links, and replay step by step.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browser, eventually, ingest, login, newPage, texts, uniq } from "./helpers";

let b: Browser;
let page: Page;
const sid = `tools-${uniq()}`;
const t0 = Date.now() - 60_000;
const at = (ms: number) => new Date(t0 + ms).toISOString();

beforeAll(async () => {
  // An agent turn with an OpenAI-style tool call and its result, nested under an agent span.
  await ingest({
    sessions: [{ id: sid, name: "Weather question", agent: "tool-agent", status: "success", started_at: at(0), ended_at: at(5000) }],
    events: [
      { id: `${sid}-root`, session_id: sid, type: "agent", name: "answer", started_at: at(0), ended_at: at(5000) },
      {
        id: `${sid}-llm1`, session_id: sid, parent_id: `${sid}-root`, type: "llm", name: "plan", model: "gpt-4o", provider: "openai",
        started_at: at(100), ended_at: at(1300), usage: { input_tokens: 120, output_tokens: 30 }, cost_usd: 0.0009,
        input: { messages: [{ role: "system", content: "You answer weather questions." }, { role: "user", content: "Weather in Paris?" }] },
        output: { choices: [{ message: { role: "assistant", content: null, tool_calls: [{ id: "call_42", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] } }] },
      },
      { id: `${sid}-tool`, session_id: sid, parent_id: `${sid}-root`, type: "tool", name: "get_weather", started_at: at(1400), ended_at: at(2400), input: { city: "Paris" }, output: { temp_c: 18, sky: "clear" } },
      {
        id: `${sid}-llm2`, session_id: sid, parent_id: `${sid}-root`, type: "llm", name: "respond", model: "gpt-4o", provider: "openai",
        started_at: at(2500), ended_at: at(4000), usage: { input_tokens: 200, output_tokens: 12 }, cost_usd: 0.0011,
        input: { messages: [
          { role: "user", content: "Weather in Paris?" },
          { role: "assistant", content: null, tool_calls: [{ id: "call_42", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
          { role: "tool", tool_call_id: "call_42", content: '{"temp_c": 18, "sky": "clear"}' },
        ] },
        output: { choices: [{ message: { role: "assistant", content: "It is 18 °C and clear in Paris." } }] },
      },
      { id: `${sid}-err`, session_id: sid, parent_id: `${sid}-root`, type: "tool", name: "send_email", started_at: at(4100), ended_at: at(4500), error: { type: "SMTPError", message: "mail server unreachable" } },
    ],
  });
  b = await browser();
  ({ page } = await newPage(b));
  await login(page, "admin");
});
afterAll(async () => {
  await b?.close();
});

const row = (p: Page, id: string) => p.locator(`[data-testid=waterfall] [data-event-id="${id}"]`);
const inspector = (p: Page) => p.locator("[data-testid=inspector]");

describe("session view", () => {
  it("draws the nested waterfall with types and errors marked", async () => {
    await page.goto(`/sessions/${sid}`);
    await page.locator("[data-testid=waterfall][data-ready]").waitFor();
    const ids = await page.locator("[data-testid=waterfall] .wf-row").evaluateAll((els) => els.map((e) => e.getAttribute("data-event-id")));
    expect(ids).toEqual([`${sid}-root`, `${sid}-llm1`, `${sid}-tool`, `${sid}-llm2`, `${sid}-err`]);
    expect(await row(page, `${sid}-llm1`).getAttribute("data-type")).toBe("llm");
    expect(await row(page, `${sid}-err`).getAttribute("class")).toContain("is-error");
    expect(await row(page, `${sid}-err`).locator(".err-mark").count()).toBe(1);
    // Collapsing the root hides its children.
    await row(page, `${sid}-root`).locator(".caret").click();
    expect(await page.locator("[data-testid=waterfall] .wf-row").count()).toBe(1);
    await row(page, `${sid}-root`).locator(".caret").click();
    expect(await page.locator("[data-testid=waterfall] .wf-row").count()).toBe(5);
  });

  it("inspects an LLM call: conversation with roles, tool call paired with its result, tokens and cost", async () => {
    await page.goto(`/sessions/${sid}`);
    await row(page, `${sid}-llm2`).click();
    await page.waitForURL(new RegExp(`event=${sid}-llm2`));
    const insp = inspector(page);
    await insp.waitFor();
    expect(await texts(insp.locator(".msg .msg-role"))).toEqual(["user", "assistant", "assistant"]);
    const call = insp.locator("[data-tool-call=call_42]");
    expect(await call.textContent()).toContain("get_weather");
    expect(await call.locator("[data-tool-result=call_42]").textContent()).toContain("18");
    expect(await insp.locator(".msg").last().textContent()).toContain("It is 18 °C and clear in Paris.");
    expect(await insp.locator("[data-testid=tokens]").textContent()).toContain("212 total");
    expect(await insp.textContent()).toContain("gpt-4o");
  });

  it("filters the JSON of an event", async () => {
    await page.goto(`/sessions/${sid}?event=${sid}-tool`);
    const insp = inspector(page);
    await insp.waitFor();
    expect(await insp.locator("[data-section=output]").textContent()).toContain("temp_c");
    await insp.getByLabel("Filter JSON").fill("sky");
    await eventually(async () => {
      const out = (await insp.locator("[data-section=output]").textContent()) ?? "";
      return out.includes("sky") && !out.includes("temp_c");
    }, 3000, "output narrowed to sky");
    expect(await insp.locator("[data-section=output] mark").first().textContent()).toBe("sky");
  });

  it("shows an error event's error", async () => {
    await page.goto(`/sessions/${sid}?event=${sid}-err`);
    const text = await inspector(page).locator(".error-block").textContent();
    expect(text).toContain("SMTPError");
    expect(text).toContain("mail server unreachable");
  });

  it("opens a demo LLM call as a conversation", async () => {
    await page.goto("/sessions/demo-003");
    await page.locator("[data-testid=waterfall][data-ready]").waitFor();
    await page.locator("[data-testid=waterfall] .wf-row[data-type=llm]").first().click();
    const roles = await texts(inspector(page).locator(".msg .msg-role"));
    expect(roles).toEqual(["system", "user", "assistant"]);
  });

  it("closes the inspector with Esc and moves through events with j/k", async () => {
    await page.goto(`/sessions/${sid}?event=${sid}-llm1`);
    await inspector(page).waitFor();
    await page.keyboard.press("j");
    await page.waitForURL(new RegExp(`event=${sid}-tool`));
    await page.keyboard.press("k");
    await page.keyboard.press("k");
    await page.waitForURL(new RegExp(`event=${sid}-root`));
    await page.keyboard.press("Escape");
    await eventually(async () => (await inspector(page).count()) === 0, 3000, "inspector closed");
    expect(page.url()).not.toContain("event=");
  });

  it("zooms and pans the timeline, and keeps the window in the link", async () => {
    await page.goto(`/sessions/${sid}`);
    await page.locator("[data-testid=waterfall][data-ready]").waitFor();
    const ticksBefore = await texts(page.locator(".wf-axis .tick"));
    await page.getByRole("button", { name: "Zoom in" }).click();
    await page.getByRole("button", { name: "Zoom in" }).click();
    await page.waitForURL(/win=/);
    const ticksAfter = await texts(page.locator(".wf-axis .tick"));
    expect(ticksAfter).not.toEqual(ticksBefore);
    const win = new URL(page.url()).searchParams.get("win")!;
    const [a, z] = win.split(",").map(Number);
    expect(z! - a!).toBeCloseTo(5000 / 4, 0);
    // Drag to pan: the window moves, its size stays.
    const track = page.locator(".wf-axis");
    const box = (await track.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + 5);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 - 200, box.y + 5, { steps: 5 });
    await page.mouse.up();
    await eventually(() => new URL(page.url()).searchParams.get("win") !== win, 3000, "panned");
    const [a2, z2] = new URL(page.url()).searchParams.get("win")!.split(",").map(Number);
    expect(a2!).toBeGreaterThan(a!);
    expect(z2! - a2!).toBeCloseTo(z! - a!, 0);
    await page.getByRole("button", { name: "Fit" }).click();
    await eventually(() => !page.url().includes("win="), 3000, "fit");
  });

  it("shows the tree view with numbers", async () => {
    await page.goto(`/sessions/${sid}?view=tree`);
    await page.locator("[data-testid=waterfall].mode-tree[data-ready]").waitFor();
    const llm = row(page, `${sid}-llm1`);
    expect(await llm.textContent()).toContain("gpt-4o");
    expect(await llm.textContent()).toContain("150");
  });

  it("replays step by step: the cursor, the timeline and the inspector move together", async () => {
    await page.goto(`/sessions/${sid}`);
    await page.locator("[data-testid=waterfall][data-ready]").waitFor();
    await page.getByRole("button", { name: "▶ Replay" }).click();
    const pos = page.locator("[data-testid=replay-pos]");
    await pos.waitFor();
    expect(await pos.textContent()).toMatch(/^1 \/ 5/);
    expect(await inspector(page).getAttribute("data-event-id")).toBe(`${sid}-root`);
    // Events after the cursor are drawn as not yet happened.
    expect(await row(page, `${sid}-llm2`).getAttribute("class")).toContain("future");
    await page.getByRole("button", { name: "Step forward (→)" }).click();
    await page.getByRole("button", { name: "Step forward (→)" }).click();
    expect(await pos.textContent()).toMatch(/^3 \/ 5/);
    expect(await inspector(page).getAttribute("data-event-id")).toBe(`${sid}-tool`);
    expect(await row(page, `${sid}-tool`).getAttribute("class")).toContain("selected");
    expect(await row(page, `${sid}-llm1`).getAttribute("class")).not.toContain("future");
    await page.keyboard.press("ArrowLeft");
    expect(await pos.textContent()).toMatch(/^2 \/ 5/);
    expect(await inspector(page).getAttribute("data-event-id")).toBe(`${sid}-llm1`);
    await page.waitForURL(/replay=1/);
    // Play at 16×: reaches the last event by itself and stops.
    await page.getByLabel("Speed").selectOption("16");
    await page.getByRole("button", { name: "Play (Space)" }).click();
    await eventually(async () => /^5 \/ 5/.test((await pos.textContent()) ?? ""), 5000, "played to the end");
    await page.getByRole("button", { name: "Play (Space)" }).waitFor();
    expect(await inspector(page).getAttribute("data-event-id")).toBe(`${sid}-err`);
    // The scrubber seeks.
    await page.getByLabel("Replay position").fill("1");
    expect(await pos.textContent()).toMatch(/^2 \/ 5/);
    await page.getByRole("button", { name: "Exit replay" }).first().click();
    await eventually(async () => (await page.locator("[data-testid=replay-bar]").count()) === 0, 3000, "replay closed");
  });

  it("a link to an event opens the session with it selected and in view", async () => {
    const id = "demo-010";
    await page.goto(`/sessions/${id}?event=${id}-05`);
    await inspector(page).waitFor();
    expect(await inspector(page).getAttribute("data-event-id")).toBe(`${id}-05`);
    expect(await row(page, `${id}-05`).getAttribute("class")).toContain("selected");
  });
});
