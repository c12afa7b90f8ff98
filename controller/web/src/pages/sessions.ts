/** Sessions at the edge (802.1X, MAB, web sign-in): who is logged in where; an admin can end one. */
import { $, announce, html, join, plural, render, time } from '../dom.js';
import { api, errorText } from '../api.js';
import type { Session, SessionsReply } from '../types.js';

const METHOD: Record<string, string> = { dot1x: '802.1X', mab: 'MAC bypass', web: 'web sign-in', admin: 'admin' };
const who = (s: Session) => s.user ?? `device group ${s.deviceGroup ?? '?'}`;

export async function loadSessions(): Promise<void> {
  const r = await api<SessionsReply>('sessions');
  if (!r.ok) {
    render('#sessions-summary', html`<span class="bad">${errorText(r)}</span>`);
    return;
  }
  const list = r.body.sessions.slice().sort((a, b) => (a.switch + a.port + a.mac).localeCompare(b.switch + b.port + b.mac, 'en'));
  render(
    '#sessions-summary',
    html`${plural(list.length, 'session')}${list.some((s) => !s.active) ? html`, <span class="bad">${list.filter((s) => !s.active).length} inactive</span>` : ''}.`,
  );
  render(
    '#sessions tbody',
    list.length
      ? join(
          list.map(
            (s) =>
              html`<tr data-id="${s.id}" ${s.active ? '' : html` class="inactive"`}>
                <th scope="row">${who(s)}${s.active ? '' : html`<br /><small class="bad">${s.inactiveReason ?? 'inactive'}</small>`}</th>
                <td><code>${s.mac}</code>${s.ip ? html`<br /><small>${s.ip}</small>` : ''}</td>
                <td>${s.switch}:${s.port}</td>
                <td>${METHOD[s.method] ?? s.method}</td>
                <td>${time(s.since)}</td>
                <td>${time(s.expires, 'until logoff')}</td>
                <td class="mutation">
                  <button
                    type="button"
                    class="end-session"
                    data-id="${s.id}"
                    aria-label="End the session of ${who(s)} on ${s.switch}:${s.port}"
                  >
                    End session
                  </button>
                </td>
              </tr>`,
          ),
        )
      : html`<tr>
          <td colspan="7">Nobody is logged in.</td>
        </tr>`,
  );
}

async function endSession(id: string, label: string): Promise<void> {
  const r = await api<{ ended: Session; by: string }>(`sessions/${encodeURIComponent(id)}`, { method: 'DELETE' });
  if (!r.ok) {
    render('#sessions-result', html`<span class="bad" role="alert">Not ended: ${errorText(r)}</span>`);
    return;
  }
  render(
    '#sessions-result',
    html`<span class="ok"
      >Ended the session of ${who(r.body.ended)} (${r.body.ended.mac} on ${r.body.ended.switch}:${r.body.ended.port}); its flows are
      removed.</span
    >`,
  );
  announce(`Ended: ${label}`);
  await loadSessions();
}

export function initSessions(): void {
  $('#sessions').addEventListener('click', (e) => {
    const b = (e.target as HTMLElement).closest<HTMLButtonElement>('button.end-session');
    if (!b?.dataset.id) return;
    b.disabled = true;
    void endSession(b.dataset.id, b.getAttribute('aria-label') ?? '');
  });
}
