// End-to-end tests of the dashboard in headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core) against a real `meterhub demo` daemon, and the speed figures of issue 15.
// Usage: node e2e/run.mjs --bin build/src/app/meterhub --out build/e2e [--no-figures]
// Exit 0 all passed, 1 a failure, 77 skipped (no Chromium). Prints "N passed, N failed".
import { chromium } from 'playwright-core';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startDemo, startPerfDaemon, Api } from './daemon.mjs';
import { runChecks } from './checks.mjs';
import { measure } from './figures.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : true]);
  return acc;
}, []));
const CHROMIUM = process.env.MH_CHROMIUM || '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  console.log(`dashboard e2e: skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  process.exit(77);
}
const bin = resolve(args.bin || 'build/src/app/meterhub');
const out = resolve(args.out || 'build/e2e');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'screenshots'), { recursive: true });

const started = Date.now();
// Never longer than the ctest timeout allows, whatever hangs.
const watchdog = setTimeout(() => { console.error('dashboard e2e: gave up after 840 s'); cleanup(); process.exit(1); }, 840_000);
const procs = [];
let browser = null;
function cleanup() {
  for (const p of procs) p.stop();
  browser?.close().catch(() => {});
}

let code = 1;
try {
  const demo = await startDemo(bin, join(out, 'demo'));
  procs.push(demo);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],  // playwright gives each launch a fresh, empty profile
  });
  const results = await runChecks(browser, demo, join(out, 'screenshots'));
  if (!args['no-figures']) {
    const perf = await startPerfDaemon(bin, join(out, 'perf'));
    procs.push(perf);
    results.push(...(await measure(browser, perf, out).catch((e) => [{ name: 'speed figures', ok: false, error: e.message }])));
  }
  const failed = results.filter((r) => !r.ok);
  for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${r.ok ? '' : ': ' + r.error}`);
  console.log(`dashboard e2e took ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${join(out, 'screenshots')}`);
  console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
  code = failed.length ? 1 : 0;
} catch (err) {
  console.error('dashboard e2e:', err && err.stack ? err.stack : err);
} finally {
  clearTimeout(watchdog);
  cleanup();
}
process.exit(code);
