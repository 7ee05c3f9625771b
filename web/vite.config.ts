// Vite builds the app into the Python package (hotline/web/static, ignored by git), where
// hotline.web mounts it; in development `npm run dev` proxies the API and its WebSocket to a
// running `hotline serve` on 127.0.0.1:8080.
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

const api = process.env.HOTLINE_API ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL("../hotline/web/static", import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
    assetsDir: "assets",
  },
  server: {
    host: "127.0.0.1",
    port: 5173,
    strictPort: true,
    proxy: {
      "/api": { target: api, ws: true, changeOrigin: false },
    },
  },
  preview: { host: "127.0.0.1" },
  test: {
    environment: "node",
    include: ["tests/**/*.test.ts"],
  },
});
