// Starts one seeded server with an admin, a member and a viewer for the whole suite.
import { readFileSync } from "node:fs";
import type { TestProject } from "vitest/node";
import { API_KEY, startServer } from "./server.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    apiKey: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startServer();
  // The binary serves the web/dist it was built with: testing an older one would test the
  // wrong app.
  const served = await (await fetch(`${server.url}/`)).text();
  const built = readFileSync(new URL("../dist/index.html", import.meta.url), "utf8");
  if (served !== built) {
    await server.stop();
    throw new Error("the agentlog binary embeds a different web/dist than the one just built: rebuild it (make build)");
  }
  project.provide("baseUrl", server.url);
  project.provide("apiKey", API_KEY);
  return () => server.stop();
}
