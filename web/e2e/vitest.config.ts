// The end-to-end suite: the real agentlog binary (started once by setup.ts) driven
// through Debian's Chromium with playwright-core. Files run one after another: the
// machine has two cores, and the browser and the server need them.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.ts"],
    environment: "node",
    globalSetup: ["e2e/setup.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
