// What the dashboard must do, as a person sees it: each view renders real data; a customer sees
// only their own meters (page and API); a threshold change and a photo upload work through the
// page; a supervisor changes nothing; login, CSRF and logout. Screenshots of every view at desktop
// and phone size.
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

const DESKTOP = { viewport: { width: 1280, height: 860 } };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

function check(results, name, fn) {
  return fn().then(() => results.push({ name, ok: true }), (e) => results.push({ name, ok: false, error: e.message }));
}
function expect(cond, message) { if (!cond) throw new Error(message); }

async function loginForm(page, base, username, password) {
  await page.goto(base + '/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.waitForSelector('body[data-ready="/"]', { timeout: 20_000 });
}
async function open(page, url, path) {
  await page.goto(url);
  await page.waitForSelector(`body[data-ready="${path}"]`, { timeout: 30_000 });
}
// fetch() from the page: the browser's own cookie, and the CSRF token unless told otherwise.
function pageFetch(page, path, init = {}, withCsrf = true) {
  return page.evaluate(async ({ path, init, withCsrf }) => {
    const headers = { ...(init.headers || {}) };
    if (withCsrf) headers['X-CSRF-Token'] = sessionStorage.getItem('mh_csrf') || '';
    const r = await fetch(path, { ...init, headers });
    return { status: r.status, body: await r.text() };
  }, { path, init, withCsrf });
}
// A small valid PNG (a grey square): a photo the reader answers about, readable or not.
function png(size = 64) {
  const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 255] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(size, 0); ihdr.writeUInt32BE(size, 4); ihdr[8] = 8; ihdr[9] = 0;
  const raw = Buffer.alloc((size + 1) * size, 0x80); for (let y = 0; y < size; y++) raw[y * (size + 1)] = 0;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

async function seed(demo) {
  const { api } = demo;
  // Two customers' meters (the demo also registers meters of no customer, e.g. its audited ones).
  const meters = (await api.ok('GET', '/api/v1/meters?limit=1000')).meters.filter((m) => m.customer_id);
  const [a, b] = [meters[0], meters.find((m) => m.customer_id !== meters[0].customer_id) ?? meters[1]];
  // A water terminal registered as a meter of customer CW: the customer's self-check photo goes there.
  const terminal = (await api.ok('GET', '/api/v1/water/pairs')).pairs[0].terminal_id;
  await api.ok('POST', '/api/v1/meters', { meter_id: terminal, kind: 'water', customer_id: 'CW', interval_s: 900 });
  // Relay meters in one region, their level reports: the relay view's real data.
  for (let i = 1; i <= 3; i++) {
    await api.ok('POST', '/api/v1/meters', { meter_id: `R${i}`, kind: 'electricity', customer_id: `CR${i}` });
    await api.ok('POST', '/api/v1/relay/meters', { meter_id: `R${i}`, region_code: '110101001', position_code: String(i).padStart(6, '0'),
      install_address: '北京市东城区东华门街道' + i + '号' });
  }
  const region = await api.ok('GET', '/api/v1/relay/regions/110101001');
  for (let i = 1; i <= 3; i++) {
    await api.ok('POST', '/api/v1/relay/reports', { meter: `R${i}`, reports: region.sub_periods.map((s, k) => ({ sub_period: s.sub_period, level: (k + i) % 4 })) });
  }
  const users = { op: 'operator', sup: 'supervisor', aud: 'auditor' };
  const pw = 'e2e-password-1';
  for (const [name, role] of Object.entries(users)) await api.ok('POST', '/api/v1/users', { username: `e2e-${name}`, role, password: pw });
  await api.ok('POST', '/api/v1/users', { username: 'e2e-custa', role: 'customer', customer_id: a.customer_id, password: pw });
  await api.ok('POST', '/api/v1/users', { username: 'e2e-custw', role: 'customer', customer_id: 'CW', password: pw });
  return { a, b, terminal, pw };
}

export async function runChecks(browser, demo, shots) {
  const results = [];
  const s = await seed(demo);
  const base = demo.base;
  const desktop = await browser.newContext(DESKTOP);
  const phone = await browser.newContext(PHONE);
  const dp = await desktop.newPage();
  const pp = await phone.newPage();
  const views = [['fleet', '/', '/'], ['meter', `/meters/${s.a.meter_id}`, `/meters/${s.a.meter_id}`], ['relay', '/relay', '/relay'],
    ['water', '/water', '/water'], ['audit', '/audit', '/audit']];

  await check(results, 'login page labels Username, Password and API token', async () => {
    await dp.goto(base + '/login');
    for (const label of ['Username', 'Password', 'API token']) expect(await dp.getByLabel(label, { exact: true }).count() === 1, `no field labelled ${label}`);
    await dp.screenshot({ path: join(shots, 'login-desktop.png') });
    await pp.goto(base + '/login');
    await pp.screenshot({ path: join(shots, 'login-phone.png') });
  });
  await check(results, 'wrong password is refused on the page', async () => {
    await dp.getByLabel('Username').fill('e2e-op');
    await dp.getByLabel('Password', { exact: true }).fill('wrong-password');
    await dp.getByRole('button', { name: 'Log in', exact: true }).click();
    await dp.getByText('wrong username or password').waitFor({ timeout: 10_000 });
  });
  await check(results, 'operator logs in and every view renders real data (desktop and phone)', async () => {
    await loginForm(dp, base, 'e2e-op', s.pw);
    await loginForm(pp, base, 'e2e-op', s.pw);
    for (const [name, url, path] of views) {
      for (const [page, size] of [[dp, 'desktop'], [pp, 'phone']]) {
        await open(page, base + url, path);
        if (name === 'meter') await page.waitForSelector('body[data-chart]', { timeout: 30_000 });
        expect(await page.locator('.error').count() === 0, `${name} (${size}) shows an error: ${await page.locator('.error').first().textContent().catch(() => '')}`);
        await page.screenshot({ path: join(shots, `${name}-${size}.png`), fullPage: size === 'desktop' });
      }
    }
    await open(dp, base + '/', '/');
    const meters = await dp.locator('.tile', { hasText: 'Meters' }).locator('dd').first().textContent();
    expect(Number(meters.replace(/,/g, '')) >= 40, `fleet shows ${meters} meters`);
    expect(await dp.locator('table').filter({ hasText: s.a.meter_id }).count() > 0, 'the meter list does not list the first meter');
    await open(dp, base + `/meters/${s.a.meter_id}`, `/meters/${s.a.meter_id}`);
    const n = Number(await dp.evaluate(() => document.body.dataset.chart));
    expect(n > 100, `the chart has ${n} readings`);
    expect(await dp.locator('.uplot canvas').count() > 0, 'no chart drawn');
    await open(dp, base + '/relay', '/relay');
    expect(await dp.getByText('110101001').count() > 0, 'relay view lacks the region');
    await open(dp, base + '/audit', '/audit');
    expect(await dp.getByRole('table', { name: 'Audit results' }).count() === 1, 'audit view lacks results');
    await open(dp, base + '/water', '/water');
    expect(await dp.getByText(s.terminal).count() > 0, 'water view lacks the terminal');
  });
  await check(results, 'meter search finds a meter by id and pages', async () => {
    await open(dp, base + '/', '/');
    await dp.getByLabel('Search meters').fill(s.b.meter_id);
    await dp.locator('.count', { hasText: /of 1$/ }).waitFor({ timeout: 10_000 });
  });
  await check(results, 'keyboard: Tab reaches the skip link and the views', async () => {
    await open(dp, base + '/', '/');
    await dp.keyboard.press('Tab');
    expect(await dp.evaluate(() => document.activeElement.textContent) === 'Skip to content', 'first Tab is not the skip link');
    await dp.keyboard.press('Tab'); await dp.keyboard.press('Tab');
    expect(await dp.evaluate(() => document.activeElement.textContent) === 'Relay', 'Tab order does not reach the views');
  });

  const cust = await browser.newContext(PHONE);
  const cp = await cust.newPage();
  await check(results, 'customer sees only their own meters (page and API)', async () => {
    await loginForm(cp, base, 'e2e-custa', s.pw);
    expect(await cp.getByRole('heading', { name: 'My meters' }).count() === 1, 'no "My meters" page');
    expect(await cp.getByText(s.a.meter_id).count() > 0, 'own meter not listed');
    expect(await cp.getByText(s.b.meter_id, { exact: true }).count() === 0, 'another customer\'s meter listed');
    await open(cp, base + `/meters/${s.b.meter_id}`, `/meters/${s.b.meter_id}`);
    expect(await cp.getByRole('heading', { name: 'Meter not found' }).count() === 1, 'another customer\'s meter page opened');
    for (const path of [`/api/v1/meters/${s.b.meter_id}`, `/api/v1/meters/${s.b.meter_id}/series`, `/api/v1/meters/${s.b.meter_id}/readings`,
      `/api/v1/alerts?meter=${s.b.meter_id}`, `/api/v1/quarantine?meter=${s.b.meter_id}`, `/api/v1/deliveries?meter=${s.b.meter_id}`]) {
      const r = await pageFetch(cp, path);
      expect(r.status === 404, `${path} answered ${r.status} to another customer`);
      expect(!r.body.includes(s.b.customer_id + '"'), `${path} leaks the other customer's id`);
    }
    for (const path of ['/api/v1/fleet/summary', '/api/v1/water/pairs', '/api/v1/relay/regions', '/api/v1/users', '/api/v1/tokens']) {
      const r = await pageFetch(cp, path);
      expect(r.status === 403, `${path} answered ${r.status} to a customer`);
    }
    const list = JSON.parse((await pageFetch(cp, '/api/v1/meters?limit=100')).body);
    expect(list.meters.every((m) => m.customer_id === s.a.customer_id), 'the meter list holds other customers\' meters');
    const status = JSON.parse((await pageFetch(cp, '/api/v1/status')).body);
    expect(status.customer_id === s.a.customer_id && status.readings === undefined, '/status is not scoped to the customer');
  });
  await check(results, 'customer changes their threshold through the page', async () => {
    await open(cp, base + `/meters/${s.a.meter_id}`, `/meters/${s.a.meter_id}`);
    await cp.getByLabel(/My alert threshold/).fill('12.5');
    await cp.getByRole('button', { name: 'Save threshold' }).click();
    await cp.getByText('Threshold set to 12.5').waitFor({ timeout: 10_000 });
    const m = await demo.api.ok('GET', `/api/v1/meters/${s.a.meter_id}`);
    expect(m.customer_threshold === 12.5, `stored threshold is ${m.customer_threshold}`);
    await cp.screenshot({ path: join(shots, 'customer-meter-phone.png'), fullPage: true });
  });
  await check(results, 'customer binds a phone number through the page', async () => {
    await cp.getByLabel('Phone number or e-mail address').fill('+8613800000000');
    await cp.getByRole('button', { name: 'Bind' }).click();
    await cp.getByText('now also go to +8613800000000').waitFor({ timeout: 10_000 });
  });
  await check(results, 'a session\'s write without its CSRF token is refused', async () => {
    const r = await pageFetch(cp, `/api/v1/meters/${s.a.meter_id}/threshold`, { method: 'PUT', body: '{"threshold":1}', headers: { 'Content-Type': 'application/json' } }, false);
    expect(r.status === 403 && r.body.includes('CSRF'), `without CSRF: ${r.status} ${r.body}`);
  });
  await check(results, 'customer uploads a meter photo through the page', async () => {
    const wp = await cust.newPage();
    await loginForm(wp, base, 'e2e-custw', s.pw);
    await open(wp, base + `/meters/${s.terminal}`, `/meters/${s.terminal}`);
    const answer = wp.waitForResponse((r) => r.url().includes(`/api/v1/water/meters/${s.terminal}/photos`));
    await wp.getByLabel(/Photo of the meter display/).setInputFiles({ name: 'meter.png', mimeType: 'image/png', buffer: png() });
    await wp.getByRole('button', { name: 'Upload photo' }).click();
    const r = await answer;
    expect(r.status() === 200 || r.status() === 422, `photo upload answered ${r.status()}`);
    await wp.getByText(/Photo (read|received)/).waitFor({ timeout: 10_000 });
    await wp.screenshot({ path: join(shots, 'customer-photo-phone.png'), fullPage: true });
  });

  const supc = await browser.newContext(DESKTOP);
  const sp = await supc.newPage();
  await check(results, 'supervisor sees everything and can change nothing', async () => {
    await loginForm(sp, base, 'e2e-sup', s.pw);
    await open(sp, base + `/meters/${s.a.meter_id}`, `/meters/${s.a.meter_id}`);
    expect(await sp.getByRole('button', { name: 'Save threshold' }).count() === 0, 'a threshold form is offered');
    expect(await sp.getByRole('button', { name: 'Bind' }).count() === 0, 'a bind form is offered');
    const writes = [
      ['PUT', `/api/v1/meters/${s.a.meter_id}/threshold`, '{"threshold":3}'],
      ['POST', `/api/v1/meters/${s.a.meter_id}/terminals`, '{"terminal_id":"X1","channel":"sms","address":"+861"}'],
      ['POST', '/api/v1/meters', '{"meter_id":"SUP1","kind":"electricity"}'],
      ['POST', '/api/v1/readings', '{"meter":"SUP1","ts":1700000000,"value":1}'],
      ['POST', '/api/v1/users', '{"username":"x","role":"admin","password":"longenough"}'],
      ['DELETE', '/api/v1/tokens/0123456789ab', undefined],
      ['POST', '/api/v1/relay/regions/110101001/rotate-key', '{}'],
      ['POST', `/api/v1/water/meters/${s.terminal}/photos?taken_at=1700000000`, 'x'],
    ];
    for (const [method, path, body] of writes) {
      const r = await pageFetch(sp, path, { method, body, headers: { 'Content-Type': 'application/json' } });
      expect(r.status === 403, `${method} ${path} answered ${r.status} to a supervisor`);
    }
    for (const [name, url, path] of views) await open(sp, base + url, path);
  });
  await check(results, 'token login on the page, logout ends the session', async () => {
    const tc = await browser.newContext(DESKTOP);
    const tp = await tc.newPage();
    await tp.goto(base + '/login');
    await tp.getByLabel('API token', { exact: true }).fill(demo.token);
    await tp.getByRole('button', { name: 'Log in with token' }).click();
    await tp.waitForSelector('body[data-ready="/"]', { timeout: 20_000 });
    const cookies = await tc.cookies();
    const c = cookies.find((x) => x.name === 'mh_session');
    expect(c && c.httpOnly && c.sameSite === 'Strict', `session cookie ${JSON.stringify(c)}`);
    await tp.getByRole('button', { name: 'Log out' }).click();
    await tp.waitForURL('**/login');
    const r = await pageFetch(tp, '/api/v1/session');
    expect(r.status === 401, `after logout /session answered ${r.status}`);
    await tc.close();
  });
  await check(results, 'deleting a user ends their open session', async () => {
    await demo.api.ok('DELETE', '/api/v1/users/e2e-sup');
    const r = await pageFetch(sp, '/api/v1/session');
    expect(r.status === 401, `a deleted user's session answered ${r.status}`);
  });
  for (const c of [desktop, phone, cust, supc]) await c.close();
  return results;
}
