import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Two worker processes at most: the suite is mostly waiting on local sockets and timers, and
// the machines it runs on are small. Each runs with hooks that compile TypeScript, so that the
// SDK's sender thread starts from source there too (test/fixtures/ts-hooks.mjs).
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    poolOptions: {
      forks: {
        minForks: 1,
        maxForks: 2,
        execArgv: ["--import", fileURLToPath(new URL("./test/fixtures/ts-register.mjs", import.meta.url))],
      },
    },
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
