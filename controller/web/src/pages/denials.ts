/** The deny log: who was blocked, where, from what, by which rule; filters by user, resource and time; live. */
import { $, $input, announce, html, join, plural, render, time } from '../dom.js';
import { errorText, get } from '../api.js';
import type { Denial, DenialsQuery } from '../../../api/contract.js';
import type { EventOf } from '../../../events.js';

/** The filter boxes, as the query of GET /denials. */
export function filters(): Pick<DenialsQuery, 'user' | 'resource' | 'since'> {
  return {
    user: $input('#den-user').value.trim() || undefined,
    resource: $input('#den-resource').value.trim() || undefined,
    since: $<HTMLSelectElement>('#den-since').value || undefined,
  };
}

const who = (d: Denial) =>
  d.subjectKind === 'unknown'
    ? html`<em>unknown device</em>`
    : html`<strong>${d.user}</strong>${d.name && d.name !== d.user ? html` <small>(${d.name})</small>` : ''}${d.organization ? html`<br><small>${d.organization}${d.roles?.length ? ` · ${d.roles.join(', ')}` : ''}</small>` : ''}`;

/** Suggestions for the user and resource boxes (once per page load). */
async function fillLists(): Promise<void> {
  if ($('#users-list').childElementCount) return;
  const m = await get('/api/v1/matrix');
  if (!m.ok) return;
  render('#users-list', join(m.body.subjects.map((s) => html`<option value="${s.id}"></option>`)));
  render('#resources-list', join(m.body.resources.map((r) => html`<option value="${r.name}"></option>`)));
}

export async function loadDenials(): Promise<void> {
  void fillLists();
  const f = filters();
  const r = await get('/api/v1/denials', { query: { ...f, limit: 500 } });
  if (!r.ok) {
    render('#denials-summary', html`<span class="bad" role="alert">${errorText(r)}</span>`);
    return;
  }
  const ds = r.body.denials;
  render(
    '#denials-summary',
    html`${plural(ds.length, 'entry', 'entries')}${f.user || f.resource || f.since ? ' matching the filters' : ''} (${r.body.total} kept in memory).`,
  );
  render(
    '#denials tbody',
    ds.length
      ? join(
          ds.map(
            (d) => html`<tr data-id="${d.id}" class="${d.kind}">
    <td>${time(d.lastSeen)}${d.count > 1 ? html`<br><small>since ${time(d.firstSeen)}</small>` : ''}</td>
    <th scope="row">${who(d)}<br><small><code>${d.mac}</code>${d.srcIp ? ` ${d.srcIp}` : ''}</small></th>
    <td>${d.switch}:${d.port}</td>
    <td>${d.resources.length ? d.resources.join(', ') : (d.dst ?? '–')}${d.resources.length && d.dst ? html`<br><small>${d.dst}</small>` : ''}</td>
    <td>${d.distinctServices > 1 ? html`${d.distinctServices} services <small>(${d.services.slice(0, 6).join(', ')}${d.distinctServices > 6 ? ', …' : ''})</small>` : d.service}</td>
    <td>${d.kind === 'would-deny' ? html`<strong>would deny</strong> (${d.monitor ?? 'monitor'}): ` : ''}${d.rule === 'default' ? 'default deny' : d.rule}<br><small>${d.reason}</small></td>
    <td class="num">${d.count}</td>
    <td>${d.user && d.resources.length ? html`<button type="button" class="why-denial" data-user="${d.user}" data-resource="${d.resources[0]}" data-service="${d.service}" aria-label="Why was ${d.user} blocked from ${d.resources[0]} ${d.service}?">Why?</button>` : ''}</td></tr>`,
          ),
        )
      : html`<tr><td colspan="8">No denied traffic${f.user || f.resource || f.since ? ' matches these filters' : ' recorded'}.</td></tr>`,
  );
}

/** Does a live denial (the `denial` event) match the filters on the page (then the list is reloaded)? */
export function matches(d: EventOf<'denial'>['denial']): boolean {
  const f = filters();
  return (!f.user || d.user === f.user) && (!f.resource || d.resources.includes(f.resource));
}

export function initDenials(openWhy: (user: string, resource: string, service: string) => void): void {
  $('#denials-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void loadDenials().then(() => announce('Deny log filtered'));
  });
  $('#denials-form').addEventListener('reset', () => window.setTimeout(() => void loadDenials(), 0));
  $('#denials').addEventListener('click', (e) => {
    const b = (e.target as HTMLElement).closest<HTMLButtonElement>('button.why-denial');
    if (b) openWhy(b.dataset.user ?? '', b.dataset.resource ?? '', b.dataset.service ?? '');
  });
}
