// Builds web/dist: index.html, app.css and one bundled app.js (cytoscape included), no CDN.
// Run by `npm run build` (tools/dev deps does it). Output is git-ignored.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
await build({
  entryPoints: [join(here, 'src/main.js')],
  bundle: true,
  minify: true,
  sourcemap: false,
  format: 'iife',
  target: ['es2020'],
  outfile: join(dist, 'app.js'),
  logLevel: 'warning',
  legalComments: 'eof',
});
copyFileSync(join(here, 'src/index.html'), join(dist, 'index.html'));
copyFileSync(join(here, 'src/app.css'), join(dist, 'app.css'));
console.log('web: built dist/ (index.html, app.css, app.js)');
