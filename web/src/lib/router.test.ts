import { afterEach, describe, expect, it, vi } from "vitest";
import { currentLocation, matchPath, navigate, patchQuery, readQuery, sessionPath, writeQuery } from "./router";

const DEFAULTS = { agent: "", status: "", q: "", sort: "-started_at" };

describe("URL state", () => {
  afterEach(() => window.history.replaceState(null, "", "/"));

  it("round-trips state through the query string, leaving defaults out", () => {
    const state = { agent: "support bot", status: "failure", q: "refund & more", sort: "-started_at" };
    const qs = writeQuery(state, DEFAULTS);
    expect(qs).toBe("?agent=support+bot&status=failure&q=refund+%26+more");
    expect(readQuery(new URLSearchParams(qs), DEFAULTS)).toEqual(state);
  });

  it("reads absent keys as their defaults and ignores unknown keys", () => {
    expect(readQuery(new URLSearchParams("?sort=cost_usd&junk=1"), DEFAULTS)).toEqual({ ...DEFAULTS, sort: "cost_usd" });
  });

  it("keeps other keys when writing", () => {
    expect(writeQuery({ q: "x" }, DEFAULTS, new URLSearchParams("event=e1"))).toBe("?event=e1&q=x");
  });

  it("patches the current URL and notifies", () => {
    navigate("/sessions/abc?event=e1");
    patchQuery({ view: "tree", event: "" }, { replace: true });
    const loc = currentLocation();
    expect(loc.path).toBe("/sessions/abc");
    expect(loc.query.toString()).toBe("view=tree");
  });

  it("pushes history entries, or replaces them", () => {
    const push = vi.spyOn(window.history, "pushState");
    const replace = vi.spyOn(window.history, "replaceState");
    navigate("/events?q=a");
    navigate("/events?q=b", { replace: true });
    expect(push).toHaveBeenCalledTimes(1);
    expect(replace).toHaveBeenCalledTimes(1);
  });
});

describe("matchPath", () => {
  it("extracts and decodes params", () => {
    expect(matchPath("/sessions/:id", "/sessions/a%2Fb%20c")).toEqual({ id: "a/b c" });
    expect(matchPath("/sessions/:id", "/sessions/x/")).toEqual({ id: "x" });
    expect(matchPath("/sessions/:id", "/sessions")).toBeNull();
    expect(matchPath("/sessions/:id", "/events/x")).toBeNull();
    expect(matchPath("/sessions/:id", "/sessions/%E0%A4%A")).toBeNull();
  });
  it("builds session links that round-trip ids with any character", () => {
    const id = "run/42?#%";
    const href = sessionPath(id, "ev 1");
    const u = new URL(href, "http://x");
    expect(matchPath("/sessions/:id", u.pathname)).toEqual({ id });
    expect(u.searchParams.get("event")).toBe("ev 1");
  });
});
