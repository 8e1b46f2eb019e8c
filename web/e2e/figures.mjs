// The speed figures of issue 15, measured in the same Chromium: the meter view over a year of
// 15-minute readings (35,040 points) and the fleet view over 100,000 meters, each beside a bare
// page that fetches the same data and draws it with uPlot alone. Times from navigation start;
// median of 3 loads (a new page each, cache kept as a returning user has it).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const RUNS = 3;
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

async function time(ctx, url, ready, marks) {
  const page = await ctx.newPage();
  await page.goto(url);
  await page.waitForSelector(ready, { timeout: 60_000 });
  const t = await page.evaluate((names) => Object.fromEntries(names.map((n) => {
    const e = performance.getEntriesByName(n);
    return [n, e.length ? e[0].startTime : null];
  })), marks);
  // Interactive: the main thread answers (a task posted now runs), after everything is drawn.
  t.interactive = await page.evaluate(() => new Promise((r) => setTimeout(() => r(performance.now()), 0)));
  await page.close();
  return t;
}

export async function measure(browser, perf, out) {
  const results = [];
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await ctx.newPage();
  await page.goto(perf.base + '/login');
  await page.getByLabel('API token', { exact: true }).fill(perf.token);
  await page.getByRole('button', { name: 'Log in with token' }).click();
  await page.waitForSelector('body[data-ready="/"]', { timeout: 60_000 });
  await page.close();
  const runs = async (url, ready, marks) => {
    const all = [];
    for (let i = 0; i < RUNS; i++) all.push(await time(ctx, url, ready, marks));
    return Object.fromEntries(Object.keys(all[0]).map((k) => [k, Math.round(median(all.map((a) => a[k])))]));
  };
  const meter = await runs(perf.base + '/meters/PERF', 'body[data-ready="/meters/PERF"]', ['mh-chart', 'mh-ready']);
  const bareMeter = await runs(`${perf.base}/bench/bare.html?meter=PERF&from=${perf.from}&to=${perf.to}`, 'body[data-ready]', []);
  const fleet = await runs(perf.base + '/', 'body[data-ready="/"]', ['mh-ready']);
  const bareFleet = await runs(perf.base + '/bench/bare.html', 'body[data-ready]', []);
  const figures = {
    machine: '2-core shared machine, headless Chromium, loopback',
    runs: RUNS,
    meter_view_35040_points_ms: { first_chart: meter['mh-chart'], interactive: meter.interactive },
    bare_uplot_35040_points_ms: { first_chart: bareMeter.interactive },
    fleet_view_100000_meters_ms: { rendered: fleet['mh-ready'], interactive: fleet.interactive },
    bare_uplot_fleet_ms: { first_chart: bareFleet.interactive },
  };
  writeFileSync(join(out, 'figures.json'), JSON.stringify(figures, null, 2) + '\n');
  console.log('speed figures (median ms from navigation start):', JSON.stringify(figures));
  const ok = (name, v) => results.push({ name, ok: Number.isFinite(v) && v > 0, error: `no figure (${v})` });
  ok('figure: meter view first chart, 35,040 points', meter['mh-chart']);
  ok('figure: fleet view, 100,000 meters', fleet['mh-ready']);
  await ctx.close();
  return results;
}
