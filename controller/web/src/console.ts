/**
 * The web console: overview, access matrix with explanations, policy editor with preview/apply and history,
 * directory. Plain DOM, no framework; everything goes through the controller's REST API.
 */
export {};
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const $ = <T extends HTMLElement = HTMLElement>(sel: string) => document.querySelector(sel) as T;
const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
let token = sessionStorage.getItem('acl-token') ?? '';
let canMutate = false;
let current = { version: 0, text: '' };
let matrixData: Json;
let directoryData: Json;

async function api(path: string, init: RequestInit = {}): Promise<{ status: number; body: Json }> {
  const headers: Record<string, string> = { ...(init.headers as Record<string, string> | undefined) };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(`/api/v1/${path}`, { ...init, headers });
  const text = await r.text();
  let body: Json = text;
  try { body = JSON.parse(text); } catch { /* text */ }
  return { status: r.status, body };
}

function announce(msg: string): void { $('#live').textContent = msg; }

// ---------- navigation ----------
function show(page: string): void {
  for (const s of document.querySelectorAll<HTMLElement>('main > section')) s.hidden = s.dataset.page !== page;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
    if (a.dataset.page === page) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  void refresh(page);
}
const pageNow = () => (location.hash.slice(1) || 'overview');
window.addEventListener('hashchange', () => show(pageNow()));

async function refresh(page = pageNow()): Promise<void> {
  if (page === 'overview') await loadOverview();
  else if (page === 'matrix') await loadMatrix();
  else if (page === 'policy') await loadPolicy();
  else if (page === 'directory') await loadDirectory();
}

// ---------- overview ----------
async function loadOverview(): Promise<void> {
  const [st, sw] = await Promise.all([api('status'), api('switches')]);
  if (st.status !== 200) { $('#ov-policy').textContent = `cannot read status: ${st.body?.error ?? st.status}`; return; }
  const s = st.body;
  canMutate = !!s.canMutate;
  document.body.classList.toggle('read-only', !canMutate);
  $('#mode').textContent = canMutate ? 'admin' : 'read-only';
  $('#ov-policy').innerHTML = `version <strong>${esc(s.version)}</strong> · ${esc(s.stats.users)} users, ${esc(s.stats.classes)} classes, ${esc(s.stats.flows)} flows<br><small>${esc(s.policy)}</small>`;
  const d = s.directory;
  $('#ov-directory').innerHTML = `${esc(d.entries)} users from <small>${esc(d.source)}</small><br>last sync ${esc(d.lastSuccessAt ?? 'never')}${d.lastError ? `<br><span class="bad">${esc(d.lastError)}</span>` : ''}${d.heldShrink ? `<br><span class="bad">shrink held: ${esc(d.heldShrink.before)} → ${esc(d.heldShrink.after)} users</span>` : ''}`;
  $('#ov-change').innerHTML = s.lastChange ? `${esc(s.lastChange.at)} by ${esc(s.lastChange.by)}<br>${esc(s.lastChange.summary)}` : 'none since start';
  $('#switches tbody').innerHTML = (sw.body as Json[]).map((x) => `<tr><th scope="row">${esc(x.name ?? '(unknown)')}</th><td><code>${esc(x.dpid)}</code></td>
    <td class="${x.connected ? 'ok' : 'bad'}">${x.connected ? (x.known ? 'connected' : 'held: unknown switch') : 'disconnected'}</td>
    <td class="${x.connected && x.flowsInstalled === x.flowsDesired ? 'ok' : ''}">${esc(x.flowsInstalled ?? '–')} / ${esc(x.flowsDesired)}</td>
    <td>${esc(x.lastSync ?? '–')}</td><td>${x.errors.map(esc).join('<br>')}${x.profile ? `<br><small>profile ${esc(x.profile)}${(x.limits ?? []).length ? ': ' + (x.limits as string[]).map(esc).join('; ') : ''}</small>` : ''}</td></tr>`).join('');
  void loadCluster();
  const alerts = (s.alerts as Json[]).slice(-20).reverse();
  $('#alerts').innerHTML = alerts.length ? alerts.map((a) => `<li><strong>${esc(a.type)}</strong> ${esc(a.at)} ${esc(describeAlert(a))}</li>`).join('') : '<li>No alerts.</li>';
}

/** Cluster mode only: the nodes, etcd health, who masters which switch (GET /api/v1/cluster is 404 otherwise). */
async function loadCluster(): Promise<void> {
  const c = await api('cluster');
  $('#cluster').hidden = c.status !== 200;
  if (c.status !== 200) return;
  const v = c.body;
  $('#cluster-health').innerHTML = `node <strong>${esc(v.node)}</strong> · ${v.healthy ? '<span class="ok">etcd healthy</span>' : `<span class="bad">etcd unavailable: ${esc(v.lastError ?? '')}</span>`} · nodes: ${(v.nodes as Json[]).map((n) => esc(n.name)).join(', ')}`;
  $('#cluster-switches tbody').innerHTML = (v.switches as Json[]).map((x) => `<tr><td><code>${esc(x.dpid)}</code></td><td>${esc(x.master ?? '–')}</td><td>${esc(x.generationId ?? '–')}</td><td>${esc(x.localRole ?? '–')}</td></tr>`).join('');
}

function describeAlert(a: Json): string {
  if (a.type === 'unknown-switch') return `switch ${a.dpid} from ${a.remote} is not in the topology (held, nothing installed)`;
  if (a.type === 'device-wrong-port') return `device ${a.mac}${a.owner ? ` (${a.owner})` : ''} seen at ${a.seenAt?.switch}:${a.seenAt?.port}${a.expected ? `, expected ${a.expected.switch}:${a.expected.port}` : ''}${a.reason ? ` — ${a.reason}` : ''}`;
  if (a.type === 'directory-failed') return `directory unreachable, last good snapshot kept: ${a.error}`;
  if (a.type === 'budget-refused') return `${a.switch}: plan does not fit the switch's tables, nothing installed (${(a.report?.tables ?? []).filter((t: Json) => t.over).map((t: Json) => `table ${t.table}: ${t.flows} flows, budget ${t.budget}`).join('; ')})`;
  if (a.type === 'switch-error') return `${a.switch ?? a.dpid}: ${a.error}`;
  return JSON.stringify(a);
}

// ---------- access matrix ----------
async function loadMatrix(): Promise<void> {
  const [m, d] = await Promise.all([api('matrix'), api('directory')]);
  matrixData = m.body;
  directoryData = d.body;
  renderMatrix();
}

function columns(): Array<{ resource: string; service: string }> {
  return (matrixData.resources as Json[]).flatMap((r) => r.services.map((s: string) => ({ resource: r.name, service: s })));
}

function renderMatrix(): void {
  const view = ($('#matrix-view') as HTMLSelectElement).value;
  const cols = columns();
  const cell = new Map<string, Json>();
  for (const c of matrixData.cells) cell.set(`${c.subject}|${c.resource}|${c.service}`, c);
  let rows: Array<{ label: string; members: string[] }>;
  if (view === 'users') rows = (matrixData.subjects as Json[]).map((s) => ({ label: `${s.id}${s.kind === 'server' ? ' (server)' : ''}`, members: [s.id] }));
  else if (view === 'organizations') {
    // an organization's row covers its sub-organizations too, as rules naming it do
    const parent = new Map<string, string | undefined>(((matrixData.organizations ?? []) as Json[]).map((o) => [o.name as string, o.parent as string | undefined]));
    for (const s of matrixData.subjects as Json[]) if (s.organization && !parent.has(s.organization)) parent.set(s.organization, undefined);
    const within = (org: string | undefined, o: string) => { for (let x = org, n = 0; x !== undefined && n < 64; x = parent.get(x), n++) if (x === o) return true; return false; };
    rows = [...parent.keys()].sort().map((o) => ({ label: o, members: (matrixData.subjects as Json[]).filter((s) => within(s.organization, o)).map((s) => s.id) }));
  } else {
    const roles = [...new Set((matrixData.subjects as Json[]).flatMap((s) => s.roles as string[]))].sort();
    rows = roles.map((r) => ({ label: r, members: (matrixData.subjects as Json[]).filter((s) => s.roles.includes(r)).map((s) => s.id) }));
  }
  const head = `<thead><tr><th scope="col">${view === 'users' ? 'User / server' : view === 'roles' ? 'Role' : 'Organization'}</th>${cols.map((c) => `<th scope="col">${esc(c.resource)}<br><small>${esc(c.service)}</small></th>`).join('')}</tr></thead>`;
  const body = rows.map((r) => `<tr><th scope="row">${esc(r.label)}</th>${cols.map((c) => {
    const ds = r.members.map((m) => cell.get(`${m}|${c.resource}|${c.service}`)?.decision).filter(Boolean);
    const allow = ds.filter((x) => x === 'allow').length;
    const cls = allow === 0 ? 'deny' : allow === ds.length ? 'allow' : 'mixed';
    const text = cls === 'mixed' ? `${allow}/${ds.length}` : cls;
    return `<td><button type="button" class="${cls}" data-members="${esc(r.members.join(','))}" data-resource="${esc(c.resource)}" data-service="${esc(c.service)}" aria-label="${esc(r.label)} to ${esc(c.resource)} ${esc(c.service)}: ${text}">${text}</button></td>`;
  }).join('')}</tr>`).join('');
  $('#matrix').innerHTML = head + `<tbody>${body}</tbody>`;
}

async function explainCell(b: HTMLButtonElement): Promise<void> {
  const members = (b.dataset.members ?? '').split(',').filter(Boolean);
  const out = $('#explain');
  out.innerHTML = 'Explaining…';
  const parts: string[] = [];
  for (const m of members.slice(0, 5)) {
    const r = await api(`explain?from=${encodeURIComponent(m)}&to=${encodeURIComponent(b.dataset.resource!)}&service=${encodeURIComponent(b.dataset.service!)}`);
    const e = r.body;
    if (r.status !== 200) { parts.push(`<p class="bad">${esc(m)}: ${esc(e.error)}</p>`); continue; }
    parts.push(`<h3><span class="${e.decision === 'allow' ? 'ok' : 'bad'}">${esc(e.decision.toUpperCase())}</span> ${esc(e.from)} → ${esc(e.to)} (${esc(e.ip)}) ${esc(e.service)}</h3>
      <p>Decided by ${e.rule === 'default' ? 'the default (deny)' : `rule <strong>${esc(e.rule)}</strong>`}: ${esc(e.reason)}</p>
      ${e.path.length ? `<ol>${(e.path as Json[]).map((h) => `<li>${esc(h.switch)} (in_port ${esc(h.inPort)}): <strong>${esc(h.verdict)}</strong><ul>${(h.flows as Json[]).map((f) => `<li><code>table=${esc(f.table)} priority=${esc(f.priority)} ${esc(f.match)}</code> <small>[${esc(f.origin)}]</small></li>`).join('')}</ul></li>`).join('')}</ol>` : '<p>The device is not attached to any switch yet.</p>'}`);
  }
  if (members.length > 5) parts.push(`<p>… and ${members.length - 5} more.</p>`);
  out.innerHTML = parts.join('');
  announce(`Explanation for ${b.getAttribute('aria-label')}`);
}

// ---------- policy editor ----------
function highlight(text: string, errorLines: Set<number>): string {
  return text.split('\n').map((line, i) => {
    let h = esc(line)
      .replace(/(#.*)$/, '<span class="y-comment">$1</span>')
      .replace(/^(\s*-?\s*)([\w-]+)(:)/, '$1<span class="y-key">$2</span>$3')
      .replace(/([{,]\s*)([\w-]+)(:)/g, '$1<span class="y-key">$2</span>$3')
      .replace(/(&quot;[^&]*&quot;)/g, '<span class="y-str">$1</span>')
      .replace(/\b(\d+(?:\.\d+){0,3}(?:\/\d+)?)\b/g, '<span class="y-num">$1</span>');
    if (errorLines.has(i + 1)) h = `<span class="y-line-err">${h || ' '}</span>`;
    return h;
  }).join('\n') + '\n';
}

let errorLines = new Set<number>();
function renderEditor(): void {
  const ta = $('#policy-text') as HTMLTextAreaElement;
  const n = ta.value.split('\n').length;
  $('#policy-gutter').innerHTML = Array.from({ length: n }, (_, i) => (errorLines.has(i + 1) ? `<span class="err" title="error on this line">${i + 1}</span>` : String(i + 1))).join('\n');
  $('#policy-highlight').innerHTML = highlight(ta.value, errorLines);
  ta.style.height = `${Math.max(n, 10) * 19.5 + 16}px`;
}

async function loadPolicy(): Promise<void> {
  const r = await api('policy');
  if (r.status !== 200) return;
  current = { version: r.body.version, text: r.body.text };
  $('#policy-version').textContent = `(version ${current.version})`;
  const ta = $('#policy-text') as HTMLTextAreaElement;
  if (!ta.dataset.dirty) ta.value = current.text;
  ta.readOnly = !canMutate;
  renderEditor();
  await loadHistory();
}

function resetPreview(): void {
  ($('#apply') as HTMLButtonElement).disabled = true;
  $('#preview-out').innerHTML = '';
}

async function preview(): Promise<Json | undefined> {
  const text = ($('#policy-text') as HTMLTextAreaElement).value;
  const r = await api('policy?dryRun=true', { method: 'POST', headers: { 'content-type': 'text/yaml' }, body: text });
  errorLines = new Set();
  if (r.status === 422) {
    const ds = (r.body.diagnostics as Json[]).filter((d) => d.severity === 'error');
    for (const d of ds) if (d.location && /policy|\.yaml/.test(d.location.file)) errorLines.add(d.location.line);
    $('#policy-errors').innerHTML = `<p>${ds.length} error${ds.length === 1 ? '' : 's'}; nothing was applied.</p><ul>${ds.map((d) => `<li>line ${esc(d.location?.line ?? '?')}, column ${esc(d.location?.column ?? '?')}: ${esc(d.message)}${d.hint ? ` <em>(${esc(d.hint)})</em>` : ''}</li>`).join('')}</ul>`;
    renderEditor();
    resetPreview();
    announce(`${ds.length} errors in the policy`);
    return undefined;
  }
  $('#policy-errors').innerHTML = r.status === 200 ? '' : `<p>${esc(r.body?.error ?? `error ${r.status}`)}</p>`;
  renderEditor();
  if (r.status !== 200) return undefined;
  const res = r.body;
  const gains = (res.access as Json[]).filter((a) => a.change === 'gain');
  const loses = (res.access as Json[]).filter((a) => a.change === 'lose');
  $('#preview-out').innerHTML = `<h3>Preview</h3><p><strong>${gains.length}</strong> gain access, <strong>${loses.length}</strong> lose access.</p>
    <ul id="preview-changes">${gains.map((a) => `<li class="gain">+ ${esc(a.subject)} → ${esc(a.resource)} ${esc(a.service)} <small>(${esc(a.rule)})</small></li>`).join('')}${loses.map((a) => `<li class="lose">− ${esc(a.subject)} → ${esc(a.resource)} ${esc(a.service)}</li>`).join('')}</ul>
    <table><thead><tr><th scope="col">Switch</th><th scope="col">Flows added</th><th scope="col">Flows removed</th><th scope="col">Unchanged</th></tr></thead><tbody>${(res.flows as Json[]).map((f) => `<tr><th scope="row">${esc(f.switch)}</th><td>${esc(f.added)}</td><td>${esc(f.removed)}</td><td>${esc(f.unchanged)}</td></tr>`).join('')}</tbody></table>`;
  ($('#apply') as HTMLButtonElement).disabled = !canMutate;
  announce(`Preview: ${gains.length} gain, ${loses.length} lose`);
  return res;
}

async function apply(): Promise<void> {
  const dlg = $('#confirm') as HTMLDialogElement;
  $('#confirm-summary').innerHTML = $('#preview-out').innerHTML;
  dlg.returnValue = '';
  dlg.showModal();
  await new Promise<void>((res) => dlg.addEventListener('close', () => res(), { once: true }));
  if (dlg.returnValue !== 'apply') return;
  const text = ($('#policy-text') as HTMLTextAreaElement).value;
  const r = await api('policy', { method: 'POST', headers: { 'content-type': 'text/yaml' }, body: text });
  if (r.status === 202) { $('#preview-out').innerHTML = `<p class="ok" id="pending-note">Pending approval by another admin (id <code>${esc(r.body.pending?.id)}</code>, expires ${esc(r.body.pending?.expiresAt)}): nothing is applied until a different admin approves it (acl approve ID, or POST /api/v1/pending/ID/approve).</p>`; ($('#apply') as HTMLButtonElement).disabled = true; announce('Change pending approval'); return; }
  if (r.status !== 200) { $('#policy-errors').innerHTML = `<p>Not applied: ${esc(r.body?.error ?? (r.body?.errors ?? []).join('; '))}</p>`; return; }
  delete ($('#policy-text') as HTMLTextAreaElement).dataset.dirty;
  $('#preview-out').innerHTML = `<p class="ok">Applied as version ${esc(r.body.version)}. ${(r.body.results as Json[]).map((x) => `${esc(x.switch)}: +${esc(x.added)} −${esc(x.removed)}${x.errors.length ? ` <span class="bad">${x.errors.map(esc).join('; ')}</span>` : ''}`).join(' · ')}</p>`;
  ($('#apply') as HTMLButtonElement).disabled = true;
  announce(`Policy version ${r.body.version} applied`);
  await loadPolicy();
}

let history: Json[] = [];
async function loadHistory(): Promise<void> {
  const r = await api('policy/history');
  history = Array.isArray(r.body) ? r.body : [];
  $('#history tbody').innerHTML = history.slice().reverse().map((h) => `<tr><td>${esc(h.version)}</td><td>${esc(h.at)}</td><td>${esc(h.by)}</td>
    <td>${esc((h.access ?? []).filter((a: Json) => a.change === 'gain').length)} gain, ${esc((h.access ?? []).filter((a: Json) => a.change === 'lose').length)} lose</td>
    <td><label><input type="checkbox" class="cmp" value="${esc(h.version)}"> compare</label></td></tr>`).join('') || '<tr><td colspan="5">No changes applied yet.</td></tr>';
}

/** Line diff (LCS) between two texts. */
function lineDiff(a: string, b: string): string {
  const x = a.split('\n'), y = b.split('\n');
  const dp = Array.from({ length: x.length + 1 }, () => new Array<number>(y.length + 1).fill(0));
  for (let i = x.length - 1; i >= 0; i--) for (let j = y.length - 1; j >= 0; j--) dp[i][j] = x[i] === y[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
  const out: string[] = [];
  let i = 0, j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) { out.push(`  ${esc(x[i])}`); i++; j++; }
    else if (j < y.length && (i === x.length || dp[i][j + 1] >= dp[i + 1][j])) { out.push(`<span class="add">+ ${esc(y[j])}</span>`); j++; }
    else { out.push(`<span class="del">- ${esc(x[i])}</span>`); i++; }
  }
  return out.join('\n');
}

function compareSelected(): void {
  const picked = [...document.querySelectorAll<HTMLInputElement>('.cmp:checked')].map((c) => Number(c.value)).sort((p, q) => p - q);
  const pre = $('#history-diff');
  if (picked.length !== 2) { pre.innerHTML = picked.length > 2 ? 'Pick two versions to compare.' : ''; return; }
  const a = history.find((h) => h.version === picked[0]), b = history.find((h) => h.version === picked[1]);
  pre.innerHTML = `version ${picked[0]} → ${picked[1]}\n` + lineDiff(a?.text ?? '', b?.text ?? '');
}

// ---------- directory ----------
async function loadDirectory(): Promise<void> {
  const r = await api('directory');
  const d = r.body;
  $('#dir-source').innerHTML = `Source: <code>${esc(d.source)}</code> · ${esc(d.users.length)} users · roles: ${(d.roles as string[]).map(esc).join(', ')}`;
  $('#users tbody').innerHTML = (d.users as Json[]).map((u) => `<tr><th scope="row">${esc(u.id)}</th><td>${esc(u.name)}</td><td>${esc(u.organization ?? '–')}</td><td>${(u.roles as string[]).map(esc).join(', ')}</td>
    <td>${(u.devices as Json[]).map((x) => `<code>${esc(x.mac)}</code> ${esc(x.ip ?? '')} — ${x.switch ? `${esc(x.switch)}:${esc(x.port)}${x.learned ? ' (learned)' : ''}` : 'not seen yet'}`).join('<br>')}</td></tr>`).join('');
  const byParent = new Map<string, string[]>();
  for (const o of d.organizations as Json[]) byParent.set(o.parent ?? '', [...(byParent.get(o.parent ?? '') ?? []), o.name]);
  const tree = (p: string): string => (byParent.get(p) ?? []).map((n) => `<li>${esc(n)}${byParent.has(n) ? `<ul>${tree(n)}</ul>` : ''}</li>`).join('');
  $('#orgs').innerHTML = tree('');
  $('#servers tbody').innerHTML = (d.servers as Json[]).map((s) => `<tr><th scope="row">${esc(s.name)}</th><td>${esc(s.ip)} <code>${esc(s.mac)}</code></td><td>${esc(s.switch)}:${esc(s.port)}</td></tr>`).join('');
}

// ---------- wiring ----------
function init(): void {
  ($('#token') as HTMLInputElement).value = token;
  $('#token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    token = ($('#token') as HTMLInputElement).value.trim();
    if (token) sessionStorage.setItem('acl-token', token); else sessionStorage.removeItem('acl-token');
    void refresh('overview').then(() => refresh());
  });
  $('#matrix-view').addEventListener('change', renderMatrix);
  $('#matrix').addEventListener('click', (e) => { const b = (e.target as HTMLElement).closest('button'); if (b) void explainCell(b as HTMLButtonElement); });
  const ta = $('#policy-text') as HTMLTextAreaElement;
  ta.addEventListener('input', () => { ta.dataset.dirty = '1'; errorLines = new Set(); resetPreview(); renderEditor(); });
  ta.addEventListener('keydown', (e) => {
    if (e.key === 'Tab' && !e.shiftKey && !e.ctrlKey) { // two spaces, not focus change, while editing; Esc then Tab leaves
      if (ta.dataset.escaped) { delete ta.dataset.escaped; return; }
      e.preventDefault();
      ta.setRangeText('  ', ta.selectionStart, ta.selectionEnd, 'end');
      ta.dispatchEvent(new Event('input'));
    } else if (e.key === 'Escape') ta.dataset.escaped = '1';
  });
  $('#preview').addEventListener('click', () => void preview());
  $('#apply').addEventListener('click', () => void apply());
  $('#revert').addEventListener('click', () => { delete ta.dataset.dirty; ta.value = current.text; errorLines = new Set(); $('#policy-errors').innerHTML = ''; resetPreview(); renderEditor(); });
  $('#history').addEventListener('change', compareSelected);
  const es = new EventSource(`/api/v1/events${token ? `?token=${encodeURIComponent(token)}` : ''}`);
  let pending: number | undefined;
  es.onmessage = () => undefined;
  for (const type of ['switch-up', 'switch-down', 'switch-synced', 'policy-applied', 'directory-synced', 'binding-learned', 'unknown-switch', 'device-wrong-port', 'directory-failed', 'switch-error']) {
    es.addEventListener(type, () => {
      announce(`Update: ${type.replace(/-/g, ' ')}`);
      if (pending) clearTimeout(pending);
      pending = window.setTimeout(() => { if (pageNow() !== 'policy') void refresh(); }, 300);
    });
  }
  void loadOverview().then(() => show(pageNow()));
}

init();
