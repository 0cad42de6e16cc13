import { defineConfig } from "vite";

// The console is served by query-api from `dist/` at `/`; `npm run dev` proxies the API
// to a running query-api (SYNCTEL_API_LISTEN, default 127.0.0.1:8080).
export default defineConfig({
  base: "/",
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true, target: "es2022" },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  server: {
    proxy: { "/api": `http://${process.env.SYNCTEL_API_LISTEN ?? "127.0.0.1:8080"}` },
  },
});
