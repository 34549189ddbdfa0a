import { defineConfig } from "vitest/config";
import preact from "@preact/preset-vite";

// `npm run dev` proxies the API to a running server (AGENTLOG_URL, default the server's
// default address), so the dashboard can be developed with hot reload against real data.
const target = process.env.AGENTLOG_URL ?? "http://127.0.0.1:7654";

export default defineConfig({
  plugins: [preact()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    target: "es2020",
    sourcemap: false,
    // The embedded server serves dist/ as-is: keep everything in hashed files.
    assetsInlineLimit: 0,
  },
  server: {
    proxy: {
      "/v1": { target, changeOrigin: false },
      "/readyz": { target },
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    restoreMocks: true,
  },
});
