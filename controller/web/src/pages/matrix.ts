/** Access matrix (users, organizations or roles × resource services), with "in use" from the traffic counters; a click explains a cell. */
import { $, announce, html, join, render } from '../dom.js';
import { errorText, get, type ApiResult } from '../api.js';
import type { MatrixReply, TrafficMatrixReply } from '../../../api/contract.js';

let matrix: MatrixReply | TrafficMatrixReply | undefined;
/** A cell of either matrix: "in use" and the last hit only with the traffic counters (GET /traffic/matrix). */
type Cell = MatrixReply['cells'][number] & Partial<Pick<TrafficMatrixReply['cells'][number], 'inUse' | 'lastHit'>>;

export async function loadMatrix(): Promise<void> {
  // the matrix with "in use" per allowed cell (traffic counters); the plain matrix if that is unavailable
  let m: ApiResult<MatrixReply | TrafficMatrixReply> = await get('/api/v1/traffic/matrix');
  if (!m.ok) m = await get('/api/v1/matrix');
  if (!m.ok) {
    render('#matrix', html`<caption class="bad">${errorText(m)}</caption>`);
    return;
  }
  matrix = m.body;
  renderMatrix();
}

interface Row {
  readonly label: string;
  readonly members: readonly string[];
}

function rowsFor(view: string, mx: MatrixReply): Row[] {
  if (view === 'users') return mx.subjects.map((s) => ({ label: `${s.id}${s.kind === 'server' ? ' (server)' : ''}`, members: [s.id] }));
  if (view === 'organizations') {
    // an organization's row covers its sub-organizations too, as rules naming it do
    const parent = new Map<string, string | undefined>((mx.organizations ?? []).map((o) => [o.name, o.parent ?? undefined]));
    for (const s of mx.subjects) if (s.organization && !parent.has(s.organization)) parent.set(s.organization, undefined);
    const within = (org: string | undefined, o: string) => {
      for (let x = org, n = 0; x !== undefined && n < 64; x = parent.get(x), n++) if (x === o) return true;
      return false;
    };
    return [...parent.keys()]
      .sort()
      .map((o) => ({ label: o, members: mx.subjects.filter((s) => within(s.organization, o)).map((s) => s.id) }));
  }
  const roles = [...new Set(mx.subjects.flatMap((s) => s.roles))].sort();
  return roles.map((r) => ({ label: r, members: mx.subjects.filter((s) => s.roles.includes(r)).map((s) => s.id) }));
}

interface Column {
  readonly resource: string;
  readonly service: string;
  readonly family: 4 | 6;
  /** " IPv6" / " IPv4" when the resource has both families, else "". */
  readonly label: string;
  /** What to explain a cell against: the resource (IPv4), or its first IPv6 address. */
  readonly to: string;
  readonly addresses: readonly string[];
}

/** A resource's columns: one per service and address family it has cells for (IPv4 first). */
function columns(r: MatrixReply['resources'][number], present: ReadonlySet<string>): Column[] {
  const has = (s: string, f: 4 | 6) => present.has(`${r.name}|${s}|${f}`);
  const fams = new Set(r.services.flatMap((s) => ([4, 6] as const).filter((f) => has(s, f))));
  const v6 = (r.addresses ?? []).find((a) => a.includes(':'))?.split('/')[0];
  return r.services.flatMap((s) =>
    ([4, 6] as const)
      .filter((f) => has(s, f))
      .map((f) => ({
        resource: r.name,
        service: s,
        family: f,
        label: fams.size > 1 ? ` IPv${f}` : '',
        to: f === 6 && v6 ? v6 : r.name,
        addresses: r.addresses ?? [],
      })),
  );
}

export function renderMatrix(): void {
  if (!matrix) return;
  const mx = matrix;
  const view = $<HTMLSelectElement>('#matrix-view').value;
  const cell = new Map<string, Cell>();
  for (const c of mx.cells) cell.set(`${c.subject}|${c.resource}|${c.service}|${c.family ?? 4}`, c);
  const present = new Set(mx.cells.map((c) => `${c.resource}|${c.service}|${c.family ?? 4}`));
  const cols = mx.resources.flatMap((r) => columns(r, present));
  const rows = rowsFor(view, mx);
  const head = html`<thead><tr><th scope="col">${view === 'users' ? 'User / server' : view === 'roles' ? 'Role' : 'Organization'}</th>${cols.map((c) => html`<th scope="col"${c.addresses.length ? html` title="${c.addresses.join(', ')}"` : ''}>${c.resource}<br><small>${c.service}${c.label}</small></th>`)}</tr></thead>`;
  const body = join(
    rows.map(
      (r) =>
        html`<tr><th scope="row">${r.label}</th>${cols.map((c) => {
          const cs = r.members
            .map((m) => cell.get(`${m}|${c.resource}|${c.service}|${c.family}`))
            .filter((x): x is Cell => x !== undefined);
          const allow = cs.filter((x) => x.decision === 'allow').length;
          const cls = allow === 0 ? 'deny' : allow === cs.length ? 'allow' : 'mixed';
          const text = cls === 'mixed' ? `${allow}/${cs.length}` : cls;
          // "in use": traffic was counted for an allowed cell (the counters are per class and resource)
          const known = cs.some((x) => x.inUse !== undefined);
          const used = cs.filter((x) => x.inUse);
          const last = used
            .map((x) => x.lastHit ?? '')
            .sort()
            .pop();
          const use = !known || allow === 0 ? '' : used.length ? `, in use (last hit ${last})` : ', no traffic seen';
          return html`<td><button type="button" class="${cls}" data-members="${r.members.join(',')}" data-resource="${c.resource}" data-to="${c.to}" data-service="${c.service}"${known && allow ? html` data-in-use="${used.length ? 'yes' : 'no'}"` : ''} aria-label="${r.label} to ${c.resource} ${c.service}${c.label}: ${text}${use}" title="${use.slice(2)}">${text}</button></td>`;
        })}</tr>`,
    ),
  );
  render('#matrix', html`${head}<tbody>${body}</tbody>`);
}

async function explainCell(b: HTMLButtonElement): Promise<void> {
  const members = (b.dataset.members ?? '').split(',').filter(Boolean);
  const out = $('#explain');
  out.textContent = 'Explaining…';
  const parts = [];
  for (const m of members.slice(0, 5)) {
    const r = await get('/api/v1/explain', { query: { from: m, to: b.dataset.to ?? b.dataset.resource, service: b.dataset.service } });
    if (!r.ok) {
      parts.push(html`<p class="bad">${m}: ${errorText(r)}</p>`);
      continue;
    }
    const e = r.body;
    parts.push(html`<h3><span class="${e.decision === 'allow' ? 'ok' : 'bad'}">${e.decision.toUpperCase()}</span> ${e.from} → ${e.to} (${e.ip}) ${e.service}</h3>
      <p>Decided by ${e.rule === 'default' ? 'the default (deny)' : html`rule <strong>${e.rule}</strong>`}: ${e.reason}</p>
      ${e.path.length ? html`<ol>${e.path.map((h) => html`<li>${h.switch} (in_port ${h.inPort}): <strong>${h.verdict}</strong><ul>${h.flows.map((f) => html`<li><code>table=${f.table} priority=${f.priority} ${f.match}</code> <small>[${f.origin}]</small></li>`)}</ul></li>`)}</ol>` : html`<p>The device is not attached to any switch yet.</p>`}`);
  }
  if (members.length > 5) parts.push(html`<p>… and ${members.length - 5} more.</p>`);
  render(out, join(parts));
  announce(`Explanation for ${b.getAttribute('aria-label')}`);
}

export function initMatrix(): void {
  $('#matrix-view').addEventListener('change', renderMatrix);
  $('#matrix').addEventListener('click', (e) => {
    const b = (e.target as HTMLElement).closest('button');
    if (b) void explainCell(b);
  });
}
