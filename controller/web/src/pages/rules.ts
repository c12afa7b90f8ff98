/** Traffic per rule (packets/bytes from the flow counters, last hit), a rule's traffic over time, and unused rules. */
import { $, $input, announce, bytes, html, join, plural, render, time, type Html } from '../dom.js';
import { change, errorText, get } from '../api.js';
import type { RuleTrafficReply } from '../../../api/contract.js';
import { monitorAction, monitorStatus, renderMonitor } from './monitor.js';

export async function loadRules(): Promise<void> {
  const [t, u, m] = await Promise.all([get('/api/v1/rules/traffic'), loadUnused(), monitorStatus()]);
  renderMonitor(m);
  const monitored = new Set(m?.monitoredRules ?? []);
  if (!t.ok) {
    render('#rules tbody', html`<tr><td colspan="6" class="bad">${errorText(t)}</td></tr>`);
    return u;
  }
  render(
    '#rules tbody',
    join(
      t.body.map(
        (
          r,
        ) => html`<tr data-rule="${r.rule}"><th scope="row">${r.rule}${monitored.has(r.rule) ? html` <span class="tag monitor" title="mode: monitor — logs what it would deny, denies nothing">monitor</span>` : ''}</th><td>${r.action}</td><td class="num">${r.packets}</td><td class="num">${bytes(r.bytes)}</td><td>${time(r.lastHit, 'never')}</td>
    <td><button type="button" class="rule-traffic" data-rule="${r.rule}" aria-label="Traffic of rule ${r.rule}">Traffic…</button></td></tr>`,
      ),
    ),
  );
}

async function loadUnused(): Promise<void> {
  const days = Number($input('#unused-days').value) || 0;
  const r = await get('/api/v1/rules/unused', { query: { days } });
  if (!r.ok) {
    render('#unused', html`<p class="bad">${errorText(r)}</p>`);
    return;
  }
  const u = r.body;
  render(
    '#unused',
    html`<p>Counting since ${time(u.trackedSince)}: ${u.rules.length ? plural(u.rules.length, 'rule') + ` with no traffic in the last ${u.days} days` : `every rule carried traffic in the last ${u.days} days`}.</p>
    ${u.rules.length ? html`<ul id="unused-list">${u.rules.map((x) => html`<li><strong>${x.rule}</strong> — last hit ${time(x.lastHit, 'never')}</li>`)}</ul>` : ''}`,
  );
}

/** Packets per poll as bars (SVG), with the numbers in a table for screen readers and copying. */
function chart(series: RuleTrafficReply['series'], rule: string): Html {
  if (!series.length) return html`<p>No traffic counted for this rule yet.</p>`;
  const w = 600,
    h = 120,
    max = Math.max(...series.map((p) => p.packets), 1);
  const t0 = series[0].t,
    t1 = Math.max(series[series.length - 1].t, t0 + 1);
  const bw = Math.max(2, Math.min(24, (w - 10) / series.length - 1));
  const bars = series.map((p) => {
    const x = 5 + ((p.t - t0) / (t1 - t0)) * (w - 10 - bw);
    const bh = Math.max(1, (p.packets / max) * (h - 20));
    return html`<rect x="${x.toFixed(1)}" y="${(h - bh).toFixed(1)}" width="${bw.toFixed(1)}" height="${bh.toFixed(1)}"><title>${new Date(p.t).toLocaleTimeString()}: ${p.packets} packets, ${bytes(p.bytes)}</title></rect>`;
  });
  return html`<svg class="chart" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="Packets per poll for rule ${rule}: ${series.length} points, peak ${max}">
    <text x="5" y="12">peak ${max} packets</text>${bars}</svg>
    <details><summary>Numbers</summary><table class="series"><thead><tr><th scope="col">Time</th><th scope="col">Packets</th><th scope="col">Bytes</th></tr></thead>
    <tbody>${series
      .slice(-50)
      .reverse()
      .map(
        (p) => html`<tr><td>${time(new Date(p.t).toISOString())}</td><td class="num">${p.packets}</td><td class="num">${p.bytes}</td></tr>`,
      )}</tbody></table></details>`;
}

export async function showRuleTraffic(rule: string): Promise<void> {
  const r = await get('/api/v1/rules/:name/traffic', { params: { name: rule } });
  const out = $('#rule-traffic');
  if (!r.ok) {
    render(out, html`<p class="bad">${errorText(r)}</p>`);
    return;
  }
  const t = r.body;
  render(
    out,
    html`<h3 id="rule-traffic-title">Traffic of rule ${t.rule}</h3>
    <p><strong class="packets">${t.packets}</strong> packets, ${bytes(t.bytes)} forward; ${t.replyPackets} packets, ${bytes(t.replyBytes)} in reply. Last hit: ${time(t.lastHit, 'never')}. Counters read every ${t.intervalMs / 1000} s since ${time(t.trackedSince)}.</p>
    ${chart(t.series, t.rule)}`,
  );
  out.setAttribute('data-rule', t.rule);
  announce(`Traffic of rule ${t.rule}: ${t.packets} packets`);
}

/** Admin: read every switch's counters now instead of waiting for the next poll. */
async function pollNow(): Promise<void> {
  const r = await change('POST /api/v1/stats/poll', undefined);
  render(
    '#poll-result',
    r.ok
      ? html`Read ${plural(r.body.flows, 'flow')} from ${plural(r.body.switches, 'switch', 'switches')} in ${Math.round(r.body.ms)} ms${r.body.errors.length ? html` <span class="bad">${r.body.errors.join('; ')}</span>` : ''}.`
      : html`<span class="bad">${errorText(r)}</span>`,
  );
  await loadRules();
  const shown = $('#rule-traffic').getAttribute('data-rule');
  if (shown) await showRuleTraffic(shown);
}

export function initRules(): void {
  $('#rules').addEventListener('click', (e) => {
    const b = (e.target as HTMLElement).closest<HTMLButtonElement>('button.rule-traffic');
    if (b?.dataset.rule) void showRuleTraffic(b.dataset.rule);
  });
  $('#poll-now').addEventListener('click', () => void pollNow());
  $('#monitored-version').addEventListener('click', (e) => {
    const b = (e.target as HTMLElement).closest<HTMLButtonElement>('button');
    if (b) void monitorAction(b.id, loadRules);
  });
  $('#unused-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void loadUnused();
  });
}
