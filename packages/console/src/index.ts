// @strait/console: the mesh console's page (TypeScript sources in web/, built by src/build.ts into
// dist/). The control plane serves the built files from consoleAssetsDir on port 20001.
import { fileURLToPath } from 'node:url';

/** Where the built page lives (index.html, console.js, console.css). */
export const consoleAssetsDir = fileURLToPath(new URL('../dist/', import.meta.url));
