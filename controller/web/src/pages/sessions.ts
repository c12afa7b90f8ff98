/** Sessions at the edge (802.1X, MAB, web sign-in): who is logged in where; an admin can end one. */
import { $, announce, html, join, plural, render, time } from '../dom.js';
import { change, errorText, get } from '../api.js';
import type { MacHold, Session } from '../../../api/contract.js';

const METHOD: Record<string, string> = { dot1x: '802.1X', mab: 'MAC bypass', web: 'web sign-in', admin: 'admin' };
const who = (s: Session) => s.user ?? `device group ${s.deviceGroup ?? '?'}`;

export async function loadSessions(): Promise<void> {
  const r = await get('/api/v1/sessions');
  if (!r.ok) {
    render('#sessions-summary', html`<span class="bad">${errorText(r)}</span>`);
    return;
  }
  // by switch, port (as a number: 2 before 10) and MAC; code-unit order, the same in every browser locale
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  const list = r.body.sessions.slice().sort((a, b) => cmp(a.switch, b.switch) || a.port - b.port || cmp(a.mac, b.mac));
  render(
    '#sessions-summary',
    html`${plural(list.length, 'session')}${list.some((s) => !s.active) ? html`, <span class="bad">${list.filter((s) => !s.active).length} inactive</span>` : ''}.`,
  );
  render(
    '#sessions tbody',
    list.length
      ? join(
          list.map(
            (s) => html`<tr data-id="${s.id}"${s.active ? '' : html` class="inactive"`}>
    <th scope="row">${who(s)}${s.active ? '' : html`<br><small class="bad">${s.inactiveReason ?? 'inactive'}</small>`}</th>
    <td><code>${s.mac}</code>${join([s.ip, ...(s.ipv6 ?? [])].filter((a): a is string => !!a).map((a) => html`<br><small class="addr">${a}</small>`))}</td><td>${s.switch}:${s.port}</td><td>${METHOD[s.method] ?? s.method}</td>
    <td>${time(s.since)}</td><td>${time(s.expires, 'until logoff')}</td>
    <td class="mutation"><button type="button" class="end-session" data-id="${s.id}" aria-label="End the session of ${who(s)} on ${s.switch}:${s.port}">End session</button></td></tr>`,
          ),
        )
      : html`<tr><td colspan="7">Nobody is logged in.</td></tr>`,
  );
  renderHolds(r.body.holds ?? []);
}

const SOURCE: Record<string, string> = { dot1x: '802.1X logins', dhcp: 'DHCP snooping' };

function renderHolds(holds: readonly MacHold[]): void {
  render(
    '#holds tbody',
    holds.length
      ? join(
          holds.map(
            (h) =>
              html`<tr data-mac="${h.mac}">
                <th scope="row"><code>${h.mac}</code></th>
                <td>${h.source.map((x) => SOURCE[x] ?? x).join(', ')}</td>
                <td>${time(h.until)}</td>
                <td class="mutation">
                  <button type="button" class="release-hold" data-mac="${h.mac}" aria-label="Release the hold on ${h.mac}">Release</button>
                </td>
              </tr>`,
          ),
        )
      : html`<tr>
          <td colspan="4">No MAC is held.</td>
        </tr>`,
  );
}

async function releaseHold(mac: string): Promise<void> {
  const r = await change('DELETE /api/v1/sessions/holds/:mac', undefined, { params: { mac } });
  if (!r.ok) {
    render('#sessions-result', html`<span class="bad" role="alert">Not released: ${errorText(r)}</span>`);
    return;
  }
  render('#sessions-result', html`<span class="ok">Released ${r.body.released.mac}: it may log in again.</span>`);
  announce(`Released ${mac}`);
  await loadSessions();
}

async function endSession(id: string, label: string): Promise<void> {
  const r = await change('DELETE /api/v1/sessions/:id', undefined, { params: { id } });
  if (!r.ok) {
    render('#sessions-result', html`<span class="bad" role="alert">Not ended: ${errorText(r)}</span>`);
    return;
  }
  render(
    '#sessions-result',
    html`<span class="ok">Ended the session of ${who(r.body.ended)} (${r.body.ended.mac} on ${r.body.ended.switch}:${r.body.ended.port}); its flows are removed.</span>`,
  );
  announce(`Ended: ${label}`);
  await loadSessions();
}

export function initSessions(): void {
  $('#holds').addEventListener('click', (e) => {
    const b = (e.target as HTMLElement).closest<HTMLButtonElement>('button.release-hold');
    if (!b?.dataset.mac) return;
    b.disabled = true;
    void releaseHold(b.dataset.mac);
  });
  $('#sessions').addEventListener('click', (e) => {
    const b = (e.target as HTMLElement).closest<HTMLButtonElement>('button.end-session');
    if (!b?.dataset.id) return;
    b.disabled = true;
    void endSession(b.dataset.id, b.getAttribute('aria-label') ?? '');
  });
}
