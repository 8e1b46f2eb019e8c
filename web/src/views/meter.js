// One meter: its consumption over any range (zoom from a year to a day), quarantined readings with
// their reasons, consumption per period against T1 and T2, terminals, alerts and every delivery
// attempt. A customer may set their threshold, bind a phone or e-mail, and send a meter photo.
import { h, fmt, table, section, errorBox } from '../dom.js';
import { api, q, ApiError } from '../api.js';
import { consumptionChart } from '../chart.js';

const DAY = 86400;
const ZOOMS = [['Year', 365 * DAY], ['Month', 30 * DAY], ['Week', 7 * DAY], ['Day', DAY]];
const isoDate = (t) => new Date(t * 1000).toISOString().slice(0, 10);

export async function meterView(ctx, id) {
  const { main, me, readOnly } = ctx;
  document.title = `Meter ${id} · MeterHub`;
  let meter;
  try {
    meter = await api(`/api/v1/meters/${encodeURIComponent(id)}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      main.replaceChildren(h('h1', {}, 'Meter not found'), h('p', {}, `There is no meter ${id} you may see.`));
      return;
    }
    throw err;
  }
  const unit = meter.kind === 'water' ? 'm³' : 'kWh';
  const now = Math.floor(Date.now() / 1000);
  const range = { from: now - 365 * DAY, to: now };
  const fromInput = h('input', { id: 'range-from', type: 'date', value: isoDate(range.from) });
  const toInput = h('input', { id: 'range-to', type: 'date', value: isoDate(range.to) });
  const chartBox = h('div', { class: 'chart', 'aria-describedby': 'chart-note' });
  const chartNote = h('p', { id: 'chart-note', class: 'note' });
  const quarantineBox = h('div');
  const periodBox = h('div');
  let plot = null;

  const drawChart = async () => {
    const [series, quar] = await Promise.all([
      api(`/api/v1/meters/${id}/series` + q({ from: range.from, to: range.to })),
      api('/api/v1/quarantine' + q({ meter: id, from: range.from, to: range.to, limit: 5000 })),
    ]);
    plot?.destroy();
    chartBox.replaceChildren();
    const width = Math.max(280, chartBox.clientWidth || main.clientWidth - 32);
    plot = consumptionChart(chartBox, { series, quarantine: quar.quarantine, unit: series.unit === 'm3' ? 'm³' : 'kWh', width });
    chartNote.textContent = `${series.t.length.toLocaleString('en')} readings from ${fmt.time(range.from)} to ${fmt.time(range.to)}` +
      `, ${quar.quarantine.length} quarantined (marked red). Drag across the chart to zoom; double-click to zoom out.`;
    quarantineBox.replaceChildren(table('Quarantined readings', [
      ['Time', (r) => fmt.time(r.timestamp)], ['Verdict', (r) => r.verdict], ['Reason', (r) => r.reason],
      ['Value', (r) => r.value ?? r.raw_value], ['Source', (r) => r.source],
    ], quar.quarantine.slice(-200).reverse()));
    document.body.dataset.chart = String(series.t.length);
    performance.mark('mh-chart');
  };
  const zoomTo = (span) => {
    if (!plot) return;
    const xs = plot.data[0];
    const end = xs.length ? xs[xs.length - 1] : range.to;
    plot.setScale('x', { min: Math.max(xs[0] ?? end - span, end - span), max: end });
  };

  const drawPeriods = async () => {
    const t = meter.thresholds || {};
    const period = await api(`/api/v1/meters/${id}/consumption` + q({ period: 'day', from: range.to - 31 * DAY, to: range.to }));
    const rows = period.consumption.slice(-31).reverse();
    periodBox.replaceChildren(
      h('p', {}, `T1 (alert threshold, ${t.t1_source || 'none'}): ${fmt.num(t.t1, 3)} ${unit} per day · ` +
        `T2 (sudden change per interval): ${fmt.num(t.t2, 3)} ${unit}`),
      table('Daily consumption against T1', [
        ['Day', (p) => p.period_start.slice(0, 10)],
        [`Consumption (${unit})`, (p) => fmt.num(p.consumption, 3)],
        ['Against T1', (p) => (t.t1 == null ? '—' : p.consumption > t.t1 ? h('strong', { class: 'over' }, `over by ${fmt.num(p.consumption - t.t1, 3)}`) : 'within')],
        ['Readings', (p) => p.readings],
      ], rows));
  };

  const terminalsBox = h('div');
  const alertsBox = h('div');
  const drawTerminals = async () => {
    const ts = await api(`/api/v1/meters/${id}/terminals`);
    terminalsBox.replaceChildren(table('Bound terminals', [
      ['Terminal', (t) => t.terminal_id], ['Channel', (t) => t.channel], ['Address', (t) => t.address],
    ], ts.terminals));
  };
  const drawAlerts = async () => {
    const [al, dl] = await Promise.all([
      api('/api/v1/alerts' + q({ meter: id, limit: 200 })),
      api('/api/v1/deliveries' + q({ meter: id, limit: 200 })),
    ]);
    const attempts = dl.deliveries.flatMap((d) => (d.attempts_log.length ? d.attempts_log : [{ attempt: 0, at_ms: d.updated_at_ms, result: d.status, error: d.last_error }])
      .map((a) => ({ ...a, delivery: d })));
    alertsBox.replaceChildren(
      table('Alerts', [
        ['Created', (a) => fmt.time(a.created_at)], ['Period from', (a) => fmt.time(a.period_start)],
        [`Consumption (${unit})`, (a) => fmt.num(a.period_consumption, 3)], ['T1', (a) => fmt.num(a.threshold, 3)],
        ['Excess', (a) => fmt.num(a.excess, 3)], ['Terminal', (a) => a.terminal_id],
      ], al.alerts.slice().reverse()),
      table('Delivery attempts', [
        ['Alert', (a) => a.delivery.alert_id], ['Terminal', (a) => a.delivery.terminal_id], ['Channel', (a) => a.delivery.channel],
        ['Attempt', (a) => a.attempt], ['At', (a) => fmt.time(a.at_ms / 1000)], ['Result', (a) => a.result], ['Error', (a) => a.error],
      ], attempts.reverse()));
  };

  const actions = [];
  const canAct = !readOnly && (me.role === 'customer' || me.role === 'admin' || me.role === 'operator');
  if (canAct) actions.push(thresholdForm(meter, unit, async () => { meter = await api(`/api/v1/meters/${id}`); await drawPeriods(); }));
  if (canAct) actions.push(bindForm(id, drawTerminals));
  if (canAct && meter.kind === 'water') actions.push(photoForm(id));

  main.replaceChildren(
    h('h1', {}, `Meter ${meter.meter_id}`),
    h('p', { class: 'meta' }, `${meter.kind} · customer ${meter.customer_id || '—'} · every ${meter.interval_s / 60} min · UTC${meter.timezone}`),
    section('Consumption',
      h('form', { class: 'range', onsubmit: async (e) => {
        e.preventDefault();
        const f = Date.parse(fromInput.value), t = Date.parse(toInput.value);
        if (Number.isNaN(f) || Number.isNaN(t) || f > t) return;
        range.from = f / 1000; range.to = t / 1000 + DAY - 1;
        await drawChart();
      } },
        h('label', { for: 'range-from' }, 'From'), fromInput,
        h('label', { for: 'range-to' }, 'To'), toInput,
        h('button', { type: 'submit' }, 'Show range'),
        h('span', { class: 'zoom', role: 'group', 'aria-label': 'Zoom to the last' },
          ZOOMS.map(([label, span]) => h('button', { type: 'button', class: 'secondary', onclick: () => zoomTo(span) }, label)))),
      chartBox, chartNote),
    section('Quarantine', quarantineBox),
    section('Periods and thresholds', periodBox),
    actions.length ? section('Settings', ...actions) : null,
    section('Terminals', terminalsBox),
    section('Alerts and deliveries', alertsBox));
  await drawChart();
  await Promise.all([drawPeriods(), drawTerminals(), drawAlerts()]);
}

function thresholdForm(meter, unit, after) {
  const input = h('input', { id: 'threshold', type: 'number', min: '0', step: 'any', inputmode: 'decimal',
    value: meter.customer_threshold ?? '' });
  const status = h('p', { 'aria-live': 'polite', class: 'status' });
  return h('form', { class: 'inline', onsubmit: async (e) => {
    e.preventDefault();
    const v = input.value.trim();
    try {
      await api(`/api/v1/meters/${meter.meter_id}/threshold`, { method: 'PUT', body: { threshold: v === '' ? null : Number(v) } });
      status.textContent = v === '' ? 'Threshold cleared: the learned one applies.' : `Threshold set to ${v} ${unit} per day.`;
      await after();
    } catch (err) { status.replaceChildren(errorBox(err)); }
  } },
  h('label', { for: 'threshold' }, `My alert threshold (${unit} per day; empty = learned)`), input,
  h('button', { type: 'submit' }, 'Save threshold'), status);
}

function bindForm(meterId, after) {
  const channel = h('select', { id: 'bind-channel' }, h('option', { value: 'sms' }, 'phone (SMS)'), h('option', { value: 'email' }, 'e-mail'));
  const address = h('input', { id: 'bind-address', required: true, autocomplete: 'tel' });
  channel.addEventListener('change', () => { address.type = channel.value === 'email' ? 'email' : 'tel'; });
  const status = h('p', { 'aria-live': 'polite', class: 'status' });
  return h('form', { class: 'inline', onsubmit: async (e) => {
    e.preventDefault();
    const terminal = `${channel.value}-${meterId}`.slice(0, 32);
    try {
      await api(`/api/v1/meters/${meterId}/terminals`, { method: 'POST', body: { terminal_id: terminal, channel: channel.value, address: address.value.trim() } });
      status.textContent = `Alerts for ${meterId} now also go to ${address.value.trim()}.`;
      await after();
    } catch (err) { status.replaceChildren(errorBox(err)); }
  } },
  h('label', { for: 'bind-channel' }, 'Send alerts to'), channel,
  h('label', { for: 'bind-address' }, 'Phone number or e-mail address'), address,
  h('button', { type: 'submit' }, 'Bind'), status);
}

function photoForm(meterId) {
  const file = h('input', { id: 'photo', type: 'file', accept: 'image/jpeg,image/png,video/mp4,video/webm', required: true });
  const status = h('p', { 'aria-live': 'polite', class: 'status' });
  return h('form', { class: 'inline', onsubmit: async (e) => {
    e.preventDefault();
    const f = file.files[0];
    if (!f) return;
    const takenAt = Math.floor((f.lastModified || Date.now()) / 1000);
    try {
      const r = await api(`/api/v1/water/meters/${meterId}/photos` + q({ taken_at: takenAt }),
        { method: 'POST', body: f, headers: { 'Content-Type': f.type || 'application/octet-stream' }, raw: true });
      if (r.status === 200) status.textContent = `Photo read: ${r.data.value}. ${r.data.message || ''}`;
      else status.textContent = `Photo received but not read: ${(r.data.error || {}).message || r.status}. Please take a clearer photo.`;
    } catch (err) { status.replaceChildren(errorBox(err)); }
  } },
  h('label', { for: 'photo' }, 'Photo of the meter display, or a few seconds of video (during a self-check)'), file,
  h('button', { type: 'submit' }, 'Upload photo'), status);
}
