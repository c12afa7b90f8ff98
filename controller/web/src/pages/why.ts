/** "Why am I blocked?": the policy's decision, recent denials for the pair, and the smallest changes that would allow it. */
import { $, $input, announce, html, render, time } from '../dom.js';
import { errorText, get } from '../api.js';

export async function ask(): Promise<void> {
  const q = {
    user: $input('#why-user').value.trim(),
    resource: $input('#why-resource').value.trim(),
    service: $input('#why-service').value.trim(),
  };
  const out = $('#why-out');
  if (!q.user || !q.resource || !q.service) {
    render(out, html`<p class="bad" role="alert">Give a user, a resource and a service (e.g. tcp/443).</p>`);
    return;
  }
  out.textContent = 'Asking…';
  const r = await get('/api/v1/why', { query: q });
  if (!r.ok) {
    render(out, html`<p class="bad" role="alert">${errorText(r)}</p>`);
    return;
  }
  const w = r.body;
  render(
    out,
    html`<h3><span class="${w.decision === 'allow' ? 'ok' : 'bad'}" id="why-decision">${w.decision === 'allow' ? 'ALLOWED' : 'BLOCKED'}</span> ${w.from} → ${w.to} (${w.ip}) ${w.service}</h3>
    <p>Decided by ${w.rule === 'default' ? 'the default (deny): no rule allows it' : html`rule <strong>${w.rule}</strong>`}: ${w.reason}</p>
    <h4>Recent denials for this pair</h4>
    ${w.denials.length ? html`<ul id="why-denials">${w.denials.map((d) => html`<li>${time(d.lastSeen)}: ${d.count}× from <code>${d.mac}</code> at ${d.switch}:${d.port} to ${d.dst ?? '?'} ${d.service} (${d.rule})</li>`)}</ul>` : html`<p id="why-no-denials">None recorded.</p>`}
    ${
      w.decision === 'allow'
        ? ''
        : html`<h4>Smallest changes that would allow it</h4>
    ${w.suggestions.length ? html`<ol id="why-suggestions">${w.suggestions.map((s) => html`<li data-kind="${s.kind}">${s.text}${s.alsoAffects ? html` <small class="bad">(also affects ${s.alsoAffects})</small>` : ''}</li>`)}</ol><p><small>Stated, not applied: make the change in the policy or the directory.</small></p>` : html`<p>No single change found.</p>`}`
    }`,
  );
  announce(`${w.from} to ${w.to} ${w.service}: ${w.decision}`);
}

/** Fills the box and asks (from a denial's "Why?" button). */
export function askFor(user: string, resource: string, service: string): void {
  $input('#why-user').value = user;
  $input('#why-resource').value = resource;
  $input('#why-service').value = service;
  void ask();
}

export function initWhy(): void {
  $('#why-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void ask();
  });
}
