// Builds the dashboard into OUT (default dist/): index.html, assets/app-<hash>.js|css, and the
// bare uPlot page used as the speed floor (bench/). Usage: node build.mjs [OUT]
import * as esbuild from 'esbuild';
import { mkdirSync, rmSync, writeFileSync, readFileSync, copyFileSync } from 'node:fs';
import { join, basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ? process.argv[2] : join(here, 'dist');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const result = await esbuild.build({
  entryPoints: { app: join(here, 'src/main.js'), bare: join(here, 'bench/bare.js') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome100', 'firefox100', 'safari15'],
  entryNames: '[name]-[hash]',
  outdir: join(out, 'assets'),
  metafile: true,
  logLevel: 'warning',
});

const files = Object.keys(result.metafile.outputs).map((f) => basename(f));
const pick = (prefix, ext) => files.find((f) => f.startsWith(prefix + '-') && f.endsWith(ext));
const page = (title, js, css) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
${css ? `<link rel="stylesheet" href="/assets/${css}">` : ''}
<script type="module" src="/assets/${js}"></script>
</head>
<body><div id="app"></div></body>
</html>
`;
writeFileSync(join(out, 'index.html'), page('MeterHub', pick('app', '.js'), pick('app', '.css')));
mkdirSync(join(out, 'bench'), { recursive: true });
writeFileSync(join(out, 'bench', 'bare.html'), page('uPlot alone', pick('bare', '.js'), pick('bare', '.css')));
copyFileSync(join(here, 'src', 'favicon.svg'), join(out, 'favicon.svg'));
console.log(`dashboard built into ${out}: ${files.join(', ')}`);
