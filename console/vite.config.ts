import { defineConfig } from "vitest/config";

// The console is served by query-api from `dist/` at `/`; `npm run dev` proxies the API
// to a running query-api (SYNCTEL_API_LISTEN, default 127.0.0.1:8080); `npm test` runs the
// unit tests.
export default defineConfig({
  base: "/",
  // No source maps: the served bundle is all a browser needs (query-api refuses `*.map` too).
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, target: "es2022" },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  // Unit tests of the pure code (`src/**/*.test.ts`); the browser tests in e2e/ run with
  // node:test against a live stack (query-api/tests/console.rs).
  test: { include: ["src/**/*.test.ts"] },
  server: {
    proxy: { "/api": `http://${process.env.SYNCTEL_API_LISTEN ?? "127.0.0.1:8080"}` },
  },
});
