// Log-in, log-out, and what each role may do.
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, browser, eventually, ingest, login, newPage, nowIso, uniq, USERS } from "./helpers";

let b: Browser;
beforeAll(async () => {
  b = await browser();
});
afterAll(async () => {
  await b?.close();
});

describe("log-in", () => {
  it("sends a signed-out visitor to the log-in page and back where they were after logging in", async () => {
    const { page, context } = await newPage(b);
    await page.goto("/agents?range=24h");
    await page.waitForURL(/\/login\?next=/);
    // Wrong password: an error, still on the log-in page.
    await page.fill("input[name=email]", USERS.admin.email);
    await page.fill("input[name=password]", "not-the-password");
    await page.click("button[type=submit]");
    expect(await page.getByRole("alert").textContent()).toContain("Wrong email or password");
    await page.fill("input[name=password]", USERS.admin.password);
    await page.click("button[type=submit]");
    await page.waitForURL((u) => u.pathname === "/agents" && u.searchParams.get("range") === "24h");
    const user = await page.locator("[data-testid=current-user]").textContent();
    expect(user).toContain(USERS.admin.email);
    expect(user).toContain("admin");
    // The session is an HttpOnly cookie: not readable from the page.
    expect(await page.evaluate(() => document.cookie)).not.toContain("agentlog_session");
    await context.close();
  });

  it("logs out: back to the log-in page, and the cookie no longer works", async () => {
    const { page, context } = await newPage(b);
    await login(page, "member");
    await page.click("[data-testid=logout]");
    await page.waitForURL(/\/login/);
    const status = await page.evaluate(async () => (await fetch("/v1/auth/me", { credentials: "same-origin" })).status);
    expect(status).toBe(401);
    await page.goto("/sessions");
    await page.waitForURL(/\/login\?next=%2Fsessions/);
    await context.close();
  });
});

describe("roles", () => {
  async function newSession(): Promise<string> {
    const id = `roles-${uniq()}`;
    await ingest({
      sessions: [{ id, name: "to be deleted", agent: "roles-agent", status: "success", started_at: nowIso(-5000), ended_at: nowIso() }],
      events: [{ session_id: id, type: "step", name: "only step", started_at: nowIso(-5000), ended_at: nowIso(-4000) }],
    });
    return id;
  }

  it("a viewer sees no Delete button, and a forced delete answers 403", async () => {
    const id = await newSession();
    const { page, context } = await newPage(b);
    await login(page, "viewer");
    expect(await page.locator("[data-testid=current-user]").textContent()).toContain("viewer");
    await page.goto(`/sessions/${id}`);
    await page.locator("[data-testid=waterfall]").waitFor();
    expect(await page.locator("[data-testid=delete-session]").count()).toBe(0);
    // Force the write anyway, with a valid CSRF token: the server refuses the role.
    const res = await page.evaluate(async (sid) => {
      const me = await (await fetch("/v1/auth/me", { credentials: "same-origin" })).json();
      const r = await fetch(`/v1/sessions/${encodeURIComponent(sid)}`, {
        method: "DELETE",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": me.csrf_token },
      });
      return { status: r.status, body: await r.json() };
    }, id);
    expect(res.status).toBe(403);
    expect(res.body.type).toBe("urn:agentlog:problem:forbidden");
    expect((await api(`/v1/sessions/${id}`)).status).toBe(200);
    await context.close();
  });

  it("a member deletes a session after confirming", async () => {
    const id = await newSession();
    const { page, context } = await newPage(b);
    await login(page, "member");
    await page.goto(`/sessions/${id}`);
    await page.click("[data-testid=delete-session]");
    // Cancel first: nothing happens.
    await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
    expect((await api(`/v1/sessions/${id}`)).status).toBe(200);
    await page.click("[data-testid=delete-session]");
    await page.click("[data-testid=confirm-delete]");
    await page.waitForURL((u) => u.pathname === "/sessions");
    await eventually(async () => (await api(`/v1/sessions/${id}`)).status === 404, 5000, "session deleted");
    await context.close();
  });

  it("a write without the CSRF token is refused even for an admin", async () => {
    const id = await newSession();
    const { page, context } = await newPage(b);
    await login(page, "admin");
    const status = await page.evaluate(
      async (sid) => (await fetch(`/v1/sessions/${encodeURIComponent(sid)}`, { method: "DELETE", credentials: "same-origin" })).status,
      id,
    );
    expect(status).toBe(403);
    expect((await api(`/v1/sessions/${id}`)).status).toBe(200);
    await context.close();
  });
});
