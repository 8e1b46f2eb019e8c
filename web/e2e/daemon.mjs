// The daemons the browser tests run against: `meterhub demo` (a live fleet with its audit and water
// parts) and, for the speed figures, `meterhub serve` over an imported fleet of 100,000 meters and
// one meter with a year of 15-minute readings.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';

export class Api {
  constructor(base, token) { this.base = base; this.token = token; }
  async call(method, path, body, headers = {}) {
    const h = { Authorization: `Bearer ${this.token}`, ...headers };
    let payload = body;
    if (body !== undefined && typeof body !== 'string') { h['Content-Type'] = 'application/json'; payload = JSON.stringify(body); }
    const res = await fetch(this.base + path, { method, headers: h, body: payload });
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = text; }
    return { status: res.status, data };
  }
  async ok(method, path, body, headers) {
    const r = await this.call(method, path, body, headers);
    if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status} ${JSON.stringify(r.data)}`);
    return r.data;
  }
}

function watch(child, log, what) {
  const lines = [];
  let buffer = '';
  const file = createWriteStream(log);
  const waiters = [];
  const feed = (chunk) => {
    file.write(chunk);
    buffer += chunk.toString();
    let i;
    while ((i = buffer.indexOf('\n')) >= 0) {
      lines.push(buffer.slice(0, i));
      buffer = buffer.slice(i + 1);
    }
    for (const w of waiters.splice(0)) w();
  };
  child.stdout.on('data', feed);
  child.stderr.on('data', feed);
  let exited = null;
  child.on('exit', (c) => { exited = c; for (const w of waiters.splice(0)) w(); });
  return {
    lines,
    async waitFor(re, ms) {
      const end = Date.now() + ms;
      for (;;) {
        const hit = lines.map((l) => l.match(re)).find(Boolean);
        if (hit) return hit;
        if (exited !== null) throw new Error(`${what} exited (${exited}) before printing ${re}; see ${log}`);
        if (Date.now() > end) throw new Error(`${what}: no ${re} within ${ms} ms; see ${log}`);
        await new Promise((r) => { waiters.push(r); setTimeout(r, 200); });
      }
    },
    stop() { if (exited === null) child.kill('SIGTERM'); },
  };
}

async function until(what, ms, probe) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => null);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function startDemo(bin, dir) {
  mkdirSync(dir, { recursive: true });
  const child = spawn(bin, ['demo', '--dir', dir, '--listen', '127.0.0.1:0', '--meters', '40', '--days', '10',
    '--peak-days', '5', '--audit-meters', '4', '--water-meters', '4', '--duration', '500'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const w = watch(child, join(dir, 'demo.log'), 'meterhub demo');
  const url = (await w.waitFor(/dashboard:\s+(http:\/\/127\.0\.0\.1:\d+)\/\s.*password (\S+);/, 120_000));
  const token = (await w.waitFor(/admin token: (mh_[0-9a-f]+)/, 5_000))[1];
  const api = new Api(url[1], token);
  // Data to look at: accepted readings, the audit's first results, the water board.
  await until('readings', 120_000, async () => (await api.ok('GET', '/api/v1/fleet/summary')).ingest.accepted_total > 1000);
  await until('audit results', 120_000, async () => (await api.ok('GET', '/api/v1/audit/results?limit=1')).results.length > 0);
  await until('water pairs', 60_000, async () => (await api.ok('GET', '/api/v1/water/pairs')).pairs.length > 0);
  return { base: url[1], password: url[2], token, api, stop: () => w.stop() };
}

// A fleet of `meters` meters with one reading each, plus meter PERF with a year of 15-minute
// readings ending now, imported through the pipeline, then served.
export async function startPerfDaemon(bin, dir, meters = 100_000) {
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'meterhub.toml');
  writeFileSync(config, `[store]\npath = "${join(dir, 'meterhub.db')}"\nsynchronous = "normal"\n[http]\nlisten = "127.0.0.1:0"\n` +
    `[mqtt]\nbroker = ""\n[ingest]\nauto_register = true\n`);
  const now = Math.floor(Date.now() / 1000 / 900) * 900;
  const rows = ['meter_id,timestamp,value'];
  for (let i = 0; i < meters; i++) rows.push(`F${String(i).padStart(6, '0')},${now - 86400},${(i % 97) + 1}`);
  let v = 1000;
  for (let k = 35040; k >= 1; k--) {
    v += 0.05 + 0.4 * Math.abs(Math.sin(k / 40)) + (k % 96 > 70 ? 0.3 : 0);
    rows.push(`PERF,${now - (k - 1) * 900},${v.toFixed(3)}`);
  }
  writeFileSync(join(dir, 'fleet.csv'), rows.join('\n') + '\n');
  execFileSync(bin, ['import', join(dir, 'fleet.csv'), '--config', config, '--tz', '+00:00'], { stdio: 'ignore', timeout: 300_000 });
  const token = execFileSync(bin, ['token', 'create', '--role', 'operator', '--name', 'perf', '--config', config]).toString().trim();
  const child = spawn(bin, ['serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const w = watch(child, join(dir, 'serve.log'), 'meterhub serve');
  const port = (await w.waitFor(/API on http:\/\/127\.0\.0\.1:(\d+)/, 60_000))[1];
  return { base: `http://127.0.0.1:${port}`, token, from: now - 35040 * 900, to: now, stop: () => w.stop() };
}
