import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { api } from "../api/client";
import { auth, logout } from "../lib/auth";
import { LoginPage } from "./Login";

afterEach(cleanup);

const me = { user: { id: 1, email: "a@b.c", role: "viewer" }, csrf_token: "tok-123", project: { id: 1, name: "default" } };

function mockFetch(...responses: Response[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return responses.shift() ?? new Response(null, { status: 204 });
    }),
  );
  return calls;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });

async function submit(email = "a@b.c", password = "pw") {
  render(<LoginPage />);
  fireEvent.input(screen.getByLabelText("Email"), { target: { value: email } });
  fireEvent.input(screen.getByLabelText("Password"), { target: { value: password } });
  fireEvent.click(screen.getByRole("button", { name: "Log in" }));
}

describe("LoginPage", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("says the credentials are wrong on 401", async () => {
    mockFetch(json(401, { type: "urn:agentlog:problem:invalid-credentials", detail: "wrong e-mail or password" }));
    await submit();
    expect(await screen.findByText("Wrong email or password.")).toBeTruthy();
  });

  it("tells how long to wait when rate-limited", async () => {
    mockFetch(json(429, { type: "urn:agentlog:problem:too-many-attempts" }, { "Retry-After": "30" }));
    await submit();
    expect(await screen.findByText("Too many attempts. Try again in 30 s.")).toBeTruthy();
  });

  it("signs in, then sends the CSRF token on writes (and not on reads)", async () => {
    const calls = mockFetch(json(200, me), json(200, { data: [] }), new Response(null, { status: 204 }));
    await submit(" a@b.c ", "secret");
    await waitFor(() => expect(auth.get().status).toBe("in"));
    expect(JSON.parse(calls[0]!.init.body as string)).toEqual({ email: "a@b.c", password: "secret" });
    expect(calls[0]!.init.credentials).toBe("same-origin");
    await api("/v1/sessions");
    expect((calls[1]!.init.headers as Record<string, string>)["X-CSRF-Token"]).toBeUndefined();
    await api("/v1/sessions/x", { method: "DELETE" });
    expect((calls[2]!.init.headers as Record<string, string>)["X-CSRF-Token"]).toBe("tok-123");
    await logout();
    expect(auth.get().status).toBe("out");
  });

  it("goes back to the log-in page when a request answers 401 later", async () => {
    mockFetch(json(200, me), json(401, { type: "urn:agentlog:problem:unauthorized" }));
    await submit();
    await waitFor(() => expect(auth.get().status).toBe("in"));
    await expect(api("/v1/sessions")).rejects.toThrow();
    expect(auth.get()).toEqual({ status: "out", expired: true });
  });
});
