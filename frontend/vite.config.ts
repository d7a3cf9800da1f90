import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Static assets served by the API at / (index.html) and /assets/* (hashed files).
// No inline script or style: the pages run under a CSP without 'unsafe-inline'.
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    sourcemap: false,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
