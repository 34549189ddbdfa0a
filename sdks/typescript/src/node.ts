// Entry point for Node.js >= 18 (the package's "node" export condition):
// context follows async calls through AsyncLocalStorage; bodies are gzipped with zlib;
// what is queued is flushed on `beforeExit`.

import { AgentLogBase } from "./client.js";
import { nodePlatform } from "./platform-node.js";
import type { AgentLogOptions } from "./types.js";

export * from "./exports.js";

/**
 * The AgentLog client.
 *
 * ```ts
 * const client = new AgentLog({ agent: "planner" }); // AGENTLOG_URL, AGENTLOG_API_KEY from env
 * const session = client.session({ name: "Plan a trip" });
 * await session.span("agent", "plan", async () => {
 *   await client.span("llm", "chat", () => callModel(), { model: "gpt-4o" });
 * });
 * session.end({ status: "success" });
 * await client.shutdown();
 * ```
 */
export class AgentLog extends AgentLogBase {
  constructor(options: AgentLogOptions = {}) {
    super(options, nodePlatform());
  }
}
