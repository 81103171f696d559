import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * In this repo the SPA uses the client package from its sources
 * (packages/client), so a change there shows at once; an app outside the repo
 * installs @tfa-service/client and drops the alias. The service's origin comes
 * from VITE_TFA_API at build time (README.md).
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: {
    alias: {
      '@tfa-service/client': fileURLToPath(new URL('../../packages/client/src/index.ts', import.meta.url)),
    },
  },
  server: { host: '127.0.0.1', port: 5173, strictPort: true },
  preview: { host: '127.0.0.1', port: 5173, strictPort: true },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
});
