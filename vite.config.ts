// Builds the browser app in web/ into web/dist (served by server/http/web.ts).
// JSX is compiled by Vite's built-in transformer (no React plugin needed; no fast refresh in dev).
import { defineConfig } from 'vite';
import { cweCatalogue } from './web/scripts/cwe-catalogue.mjs';

export default defineConfig({
  root: 'web',
  base: '/',
  publicDir: false,
  // The CWE picker's catalogue (`virtual:cwe-catalogue`), made from the cwe-sdk package's data.
  plugins: [cweCatalogue()],
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    // The DFD editor (X6) is one lazily loaded chunk on purpose; it is larger than Vite's default hint.
    chunkSizeWarningLimit: 1200,
    // No inline scripts or module-preload polyfill: the CSP allows scripts from 'self' only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    // The server serves only asset names that start with a letter or digit (server/http/web.ts);
    // a chunk of a virtual module would otherwise be named "_virtual_...".
    rolldownOptions: { output: { chunkFileNames: (chunk) => `assets/${chunk.name.replace(/^[^A-Za-z0-9]+/, '') || 'chunk'}-[hash].js` } },
  },
});
