import { defineConfig } from "vite";

// The fleet manager serves dist/ at "/" and the API under /api/v1 on the same origin.
export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
  server: { proxy: { "/api": { target: "http://127.0.0.1:8000", ws: true } } },
});
