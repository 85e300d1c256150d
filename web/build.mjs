// Builds the status page: web/src → web/dist (hashed assets + index.html).
// Usage: node web/build.mjs [--watch]
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const root = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(root, 'dist');

await rm(dist, { recursive: true, force: true });
await mkdir(path.join(dist, 'assets'), { recursive: true });

const result = await esbuild.build({
  entryPoints: { app: path.join(root, 'src/main.tsx') },
  bundle: true,
  format: 'esm',
  splitting: false,
  minify: true,
  sourcemap: false,
  target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: path.join(dist, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((p) => path.relative(dist, p).split(path.sep).join('/'));
const js = outputs.find((p) => p.endsWith('.js'));
const css = outputs.find((p) => p.endsWith('.css'));
const template = await readFile(path.join(root, 'src/index.html'), 'utf8');
const html = template
  .replace('<!--css-->', css ? `<link rel="stylesheet" href="/${css}">` : '')
  .replace('<!--js-->', `<script type="module" src="/${js}"></script>`);
await writeFile(path.join(dist, 'index.html'), html);

let total = 0;
for (const o of outputs) {
  const buf = await readFile(path.join(dist, o));
  const gz = gzipSync(buf, { level: 9 }).length;
  if (o.endsWith('.js')) total += gz;
  console.log(`${o.padEnd(40)} ${String(buf.length).padStart(8)} B  ${String(gz).padStart(7)} B gzip`);
}
console.log(`JavaScript shipped, gzipped: ${(total / 1024).toFixed(1)} KiB`);
