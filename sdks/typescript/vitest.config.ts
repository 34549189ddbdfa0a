import { defineConfig } from "vitest/config";

// Two worker processes at most: the suite is mostly waiting on local sockets and timers, and
// the machines it runs on are small.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    poolOptions: { forks: { minForks: 1, maxForks: 2 } },
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
