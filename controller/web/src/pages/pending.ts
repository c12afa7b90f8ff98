/** Pending changes (two-person rule): who gains and loses with each; a different admin approves or rejects. */
import { $, announce, html, join, render, time } from '../dom.js';
import { change, errorText, get } from '../api.js';
import { accessList, accessSummary, flowTable } from './changes.js';

export async function loadPending(): Promise<void> {
  const r = await get('/api/v1/pending');
  if (!r.ok) {
    render('#pending-list', html`<p class="bad">${errorText(r)}</p>`);
    return;
  }
  const { requireApproval, pending } = r.body;
  $('#pending-count').textContent = requireApproval && pending.length ? String(pending.length) : '';
  render(
    '#pending-mode',
    html`${requireApproval ? 'Changes need the approval of a second admin (two-person rule).' : 'This controller applies changes directly (it was not started with --require-approval).'}`,
  );
  render(
    '#pending-list',
    pending.length
      ? join(
          pending.map(
            (p) => html`<article class="pending" data-id="${p.id}" aria-labelledby="pending-${p.id}">
    <h3 id="pending-${p.id}">${p.kind === 'rollback' ? `Rollback to version ${p.rollbackTo}` : 'Policy change'} by ${p.by}</h3>
    <p>Submitted ${time(p.at)} against version ${p.baseVersion}; expires ${time(p.expiresAt)}. <small>id <code>${p.id}</code></small></p>
    <p>${accessSummary(p.access)}</p>${accessList(p.access)}${flowTable(p.flows)}
    <p class="actions mutation"><button type="button" class="approve" data-id="${p.id}" aria-label="Approve the change by ${p.by} (${p.id})">Approve</button> <button type="button" class="reject" data-id="${p.id}" aria-label="Reject the change by ${p.by} (${p.id})">Reject</button></p>
    <p class="outcome" role="status"></p></article>`,
          ),
        )
      : html`<p id="pending-none">No pending changes.</p>`,
  );
}

async function decide(id: string, what: 'approve' | 'reject'): Promise<void> {
  const r =
    what === 'approve'
      ? await change('POST /api/v1/pending/:id/approve', undefined, { params: { id } })
      : await change('POST /api/v1/pending/:id/reject', undefined, { params: { id } });
  // looked up after the answer: a live update may have re-drawn the list while the request was out
  const outcome = document.querySelector<HTMLElement>(`#pending-list article[data-id="${CSS.escape(id)}"] .outcome`);
  if (!r.ok) {
    // e.g. 403 own-change: "'alice' submitted this change and cannot approve it: a different admin must"
    if (outcome)
      render(outcome, html`<span class="bad" role="alert">Not ${what === 'approve' ? 'approved' : 'rejected'}: ${errorText(r)}</span>`);
    announce(`Not ${what}d: ${errorText(r)}`);
    return;
  }
  announce(what === 'approve' ? `Approved: now version ${'version' in r.body ? r.body.version : '?'}` : 'Rejected');
  render(
    '#pending-result',
    html`<p class="ok">${what === 'approve' ? `Change ${id} approved and applied${'version' in r.body ? ` as version ${r.body.version}` : ''}.` : `Change ${id} rejected.`}</p>`,
  );
  await loadPending();
  document.dispatchEvent(new CustomEvent('policy-changed'));
}

export function initPending(): void {
  $('#pending-list').addEventListener('click', (e) => {
    const b = (e.target as HTMLElement).closest<HTMLButtonElement>('button.approve, button.reject');
    if (!b?.dataset.id) return;
    b.disabled = true;
    void decide(b.dataset.id, b.classList.contains('approve') ? 'approve' : 'reject').finally(() => {
      b.disabled = false;
    });
  });
}
