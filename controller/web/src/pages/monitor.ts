/** Monitor mode on the Rules page: rule-level monitored rules marked, and the policy version in monitor mode with what it would have cut. */
import { html, join, plural, render, time } from '../dom.js';
import { change, errorText, get } from '../api.js';
import type { MonitorReply } from '../../../api/contract.js';

/** The monitor status (null when it cannot be read: the rules table is shown without marks). */
export async function monitorStatus(): Promise<MonitorReply | null> {
  const r = await get('/api/v1/policy/monitor', { query: { since: '6h' } });
  return r.ok ? r.body : null;
}

/** The monitored version: who put it there, who would lose access, and what it would have cut in the last 6 hours. */
export function renderMonitor(m: MonitorReply | null): void {
  if (!m?.monitor) {
    render('#monitored-version', m ? html`<p>No policy version is in monitor mode (<code>acl apply --monitor POLICY</code>).</p>` : html``);
    return;
  }
  const v = m.monitor;
  const lose = v.access.filter((a) => a.change === 'lose');
  render(
    '#monitored-version',
    html`<p><span class="tag monitor">monitor</span> <strong id="monitor-name">${v.name}</strong>, by ${v.by}${v.approvedBy ? `, approved by ${v.approvedBy}` : ''}, since ${time(v.since)}. Version ${v.baseVersion} stays enforced; if applied, ${plural(lose.length, 'access', 'accesses')} would be lost.</p>
    <p class="mutation"><button type="button" id="monitor-promote">Promote (apply it)</button> <button type="button" id="monitor-stop">Stop monitoring</button> <span id="monitor-result" role="status"></span></p>
    <table id="would-cut"><caption>What it would have cut since ${time(m.since)}</caption><thead><tr><th scope="col">User</th><th scope="col">Destination</th><th scope="col">Services</th><th scope="col">Rule</th><th scope="col">Samples</th><th scope="col">Last seen</th></tr></thead>
    <tbody>${m.wouldCut.length ? join(m.wouldCut.map((w) => html`<tr data-user="${w.user ?? ''}"><td>${w.user ?? 'unknown device'}</td><td>${w.dst ?? '?'} ${w.resources.length ? `[${w.resources.join(', ')}]` : ''}</td><td>${w.services.join(', ')}</td><td>${w.rule}</td><td class="num">${w.count}</td><td>${time(w.lastSeen)}</td></tr>`)) : html`<tr><td colspan="6">Nothing seen that it would deny.</td></tr>`}</tbody></table>`,
  );
}

/** Promote or stop; then `reload` (the Rules page) shows the result. */
export async function monitorAction(id: string, reload: () => Promise<void>): Promise<void> {
  const r =
    id === 'monitor-promote'
      ? await change('POST /api/v1/policy/monitor/promote', undefined)
      : id === 'monitor-stop'
        ? await change('DELETE /api/v1/policy/monitor', undefined)
        : undefined;
  if (!r) return;
  await reload();
  if (!r.ok) render('#monitored-version', html`<p class="bad">${errorText(r)}</p>`);
}
