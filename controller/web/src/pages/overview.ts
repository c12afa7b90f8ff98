/** Overview: policy, directory, last change, switches, cluster, alerts. */
import { $, html, join, render } from '../dom.js';
import { errorText, get } from '../api.js';
import { state } from '../state.js';
import type { Alert } from '../../../events.js';

export async function loadOverview(): Promise<void> {
  const [st, sw] = await Promise.all([get('/api/v1/status'), get('/api/v1/switches')]);
  if (!st.ok) {
    $('#ov-policy').textContent = `cannot read status: ${errorText(st)}`;
    return;
  }
  const s = st.body;
  state.canMutate = !!s.canMutate;
  document.body.classList.toggle('read-only', !state.canMutate);
  $('#mode').textContent = state.canMutate ? 'admin' : 'read-only';
  render(
    '#ov-policy',
    html`version <strong>${s.version}</strong> · ${s.stats.users} users, ${s.stats.classes} classes, ${s.stats.flows} flows<br><small>${s.policy}</small>`,
  );
  const d = s.directory;
  render(
    '#ov-directory',
    html`${d.entries} users from <small>${d.source}</small><br>last sync ${d.lastSuccessAt ?? 'never'}${d.lastError ? html`<br><span class="bad">${d.lastError}</span>` : ''}${d.heldShrink ? html`<br><span class="bad">shrink held: ${d.heldShrink.before} → ${d.heldShrink.after} users</span>` : ''}`,
  );
  render('#ov-change', s.lastChange ? html`${s.lastChange.at} by ${s.lastChange.by}<br>${s.lastChange.summary}` : html`none since start`);
  render(
    '#switches tbody',
    join(
      (sw.ok ? sw.body : []).map(
        (x) => html`<tr><th scope="row">${x.name ?? '(unknown)'}</th><td><code>${x.dpid}</code></td>
    <td class="${x.connected ? 'ok' : 'bad'}">${x.connected ? (x.known ? 'connected' : 'held: unknown switch') : 'disconnected'}</td>
    <td class="${x.connected && x.flowsInstalled === x.flowsDesired ? 'ok' : ''}">${x.flowsInstalled ?? '–'} / ${x.flowsDesired}</td>
    <td>${x.lastSync ?? '–'}</td><td>${join(x.errors, html`<br>`)}${x.profile ? html`<br><small>profile ${x.profile}${(x.limits ?? []).length ? ': ' + (x.limits ?? []).join('; ') : ''}</small>` : ''}</td></tr>`,
      ),
    ),
  );
  void loadCluster();
  const alerts = s.alerts.slice(-20).reverse();
  render(
    '#alerts',
    alerts.length
      ? join(alerts.map((a) => html`<li><strong>${a.type}</strong> ${a.at} ${describeAlert(a)}</li>`))
      : html`<li>No alerts.</li>`,
  );
}

/** Cluster mode only: the nodes, etcd health, who masters which switch (GET /api/v1/cluster is 404 otherwise). */
async function loadCluster(): Promise<void> {
  const c = await get('/api/v1/cluster');
  $('#cluster').hidden = !c.ok;
  if (!c.ok) return;
  const v = c.body;
  render(
    '#cluster-health',
    html`node <strong>${v.node}</strong> · ${v.healthy ? html`<span class="ok">etcd healthy</span>` : html`<span class="bad">etcd unavailable: ${v.lastError ?? ''}</span>`} · nodes: ${v.nodes.map((n) => n.name).join(', ')}`,
  );
  render(
    '#cluster-switches tbody',
    join(
      v.switches.map(
        (x) =>
          html`<tr><td><code>${x.dpid}</code></td><td>${x.master ?? '–'}</td><td>${x.generationId ?? '–'}</td><td>${x.localRole ?? '–'}</td></tr>`,
      ),
    ),
  );
}

/** One line for an alert of GET /status (controller/events.ts: the events marked `alert`). */
export function describeAlert(a: Alert): string {
  if (a.type === 'unknown-switch') return `switch ${a.dpid} from ${a.remote} is not in the topology (held, nothing installed)`;
  if (a.type === 'device-wrong-port')
    return `device ${a.mac}${a.owner ? ` (${a.owner})` : ''} seen at ${a.seenAt.switch}:${a.seenAt.port}${a.expected ? `, expected ${a.expected.switch}:${a.expected.port}` : ''}${a.reason ? ` — ${a.reason}` : ''}`;
  if (a.type === 'directory-failed') return `directory unreachable, last good snapshot kept: ${a.error}`;
  if (a.type === 'switch-error') return `${a.switch ?? a.dpid}: ${a.error}`;
  return JSON.stringify(a);
}
