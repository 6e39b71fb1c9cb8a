// The portal's build: web/ into web/dist/, hashed assets that the server serves with a year's cache.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
    reportCompressedSize: false,
    chunkSizeWarningLimit: 400,
  },
  logLevel: "warn",
});
