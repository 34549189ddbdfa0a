import { describe, expect, it } from "vitest";
import { UuidV7Generator } from "../src/ids.js";
import { randomFillSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { VERSION } from "../src/node.js";

const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("UuidV7Generator", () => {
  it("makes RFC 9562 version-7 ids carrying the millisecond timestamp", () => {
    const ms = Date.UTC(2026, 10, 25, 10, 0, 0, 123);
    const g = new UuidV7Generator((b) => randomFillSync(b), () => ms);
    const id = g.next();
    expect(id).toMatch(UUID7);
    expect(parseInt(id.replace(/-/g, "").slice(0, 12), 16)).toBe(ms);
  });

  it("writes ids as JSON string literals too, from the same sequence", () => {
    let n = 0;
    const g = new UuidV7Generator((b) => b.fill(n++), () => Date.UTC(2026, 0, 1));
    const json = g.nextJson();
    expect(json).toBe('"019b76da-a800-7000-8000-000000000000"');
    expect(JSON.parse(json)).toMatch(UUID7);
    for (let i = 0; i < 300; i++) expect(JSON.parse(g.nextJson())).toMatch(UUID7);
    expect(g.next()).toBe("019b76da-a800-7101-8101-010101010101");
  });

  it("does not repeat across many ids (pool refills included)", () => {
    const g = new UuidV7Generator((b) => randomFillSync(b));
    const seen = new Set<string>();
    for (let i = 0; i < 200_000; i++) seen.add(g.next());
    expect(seen.size).toBe(200_000);
    for (const id of [...seen].slice(0, 1000)) expect(id).toMatch(UUID7);
  });

  it("uses the random source for the 74 random bits", () => {
    let calls = 0;
    const g = new UuidV7Generator((b) => {
      calls++;
      b.fill(0xff);
    }, () => 0);
    expect(g.next()).toBe("00000000-0000-7fff-bfff-ffffffffffff");
    for (let i = 0; i < 300; i++) g.next();
    expect(calls).toBe(2);
  });
});

describe("package", () => {
  it("reports the version of package.json", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});
