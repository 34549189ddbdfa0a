// Entry point for browsers and edge runtimes (the package's default export condition).
// Context follows async calls where the runtime has a global AsyncLocalStorage; elsewhere
// nesting is synchronous, and spans created after an `await` take their parent explicitly
// (`span.span(...)`). Bodies are gzipped with CompressionStream where available; what is
// queued is flushed when the page is hidden.

import { AgentLogBase } from "./client.js";
import { webPlatform } from "./platform-web.js";
import type { AgentLogOptions } from "./types.js";

export * from "./exports.js";

/** The AgentLog client (see the Node entry for an example; the API is the same). */
export class AgentLog extends AgentLogBase {
  constructor(options: AgentLogOptions = {}) {
    super(options, webPlatform());
  }
}
