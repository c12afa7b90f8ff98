/** Policy history (every kept version: earlier runs and, in a cluster, every node), a diff between any two, and rollback to any of them. */
import { $, $button, announce, html, join, render, type Html } from '../dom.js';
import { change, dryRunReply, errorText, get } from '../api.js';
import { state } from '../state.js';
import { accessList, accessSummary, flowTable } from './changes.js';
import type { PolicyVersion } from '../../../api/contract.js';

let versions: readonly PolicyVersion[] = [];
let current = 0;
let requireApproval = false;

export async function loadHistory(): Promise<void> {
  const r = await get('/api/v1/policy/versions');
  versions = r.ok ? r.body.versions : [];
  current = r.ok ? r.body.current : 0;
  requireApproval = r.ok && r.body.requireApproval;
  const why = (v: PolicyVersion) =>
    v.reason === 'rollback' ? `rollback to ${v.rollbackTo}` : v.reason === 'load' ? 'loaded at start' : v.reason;
  render(
    '#history tbody',
    versions.length
      ? join(
          versions
            .slice()
            .reverse()
            .map(
              (
                v,
              ) => html`<tr data-version="${v.version}"><th scope="row">${v.version}${v.version === current ? html` <small>(running)</small>` : ''}</th><td>${v.at}</td><td>${v.by}${v.approvedBy ? html`<br><small>approved by ${v.approvedBy}</small>` : ''}</td>
    <td>${why(v)}${v.summary ? html`<br><small>${v.summary}</small>` : ''}</td>
    <td><label><input type="checkbox" class="cmp" value="${v.version}"> compare</label></td>
    <td class="mutation">${v.version === current ? '' : html`<button type="button" class="rollback" data-version="${v.version}">Roll back to version ${v.version}…</button>`}</td></tr>`,
            ),
        )
      : html`<tr><td colspan="6">No versions yet.</td></tr>`,
  );
}

/** Line diff (LCS) between two texts. */
function lineDiff(a: string, b: string): Html {
  const x = a.split('\n'),
    y = b.split('\n');
  const dp = Array.from({ length: x.length + 1 }, () => new Array<number>(y.length + 1).fill(0));
  for (let i = x.length - 1; i >= 0; i--)
    for (let j = y.length - 1; j >= 0; j--) dp[i][j] = x[i] === y[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
  const out: Html[] = [];
  let i = 0,
    j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) {
      out.push(html`  ${x[i]}`);
      i++;
      j++;
    } else if (j < y.length && (i === x.length || dp[i][j + 1] >= dp[i + 1][j])) {
      out.push(html`<span class="add">+ ${y[j]}</span>`);
      j++;
    } else {
      out.push(html`<span class="del">- ${x[i]}</span>`);
      i++;
    }
  }
  return join(out, '\n');
}

const textOf = async (v: number) => {
  const r = await get('/api/v1/policy/versions/:v', { params: { v } });
  return r.ok ? r.body.text : '';
};

async function compareSelected(): Promise<void> {
  const picked = [...document.querySelectorAll<HTMLInputElement>('#history .cmp:checked')]
    .map((c) => Number(c.value))
    .sort((p, q) => p - q);
  const pre = $('#history-diff');
  if (picked.length !== 2) {
    pre.textContent = picked.length > 2 ? 'Pick two versions to compare.' : '';
    return;
  }
  const [a, b] = await Promise.all([textOf(picked[0]), textOf(picked[1])]);
  render(pre, html`version ${picked[0]} → ${picked[1]}\n${lineDiff(a, b)}`);
}

/** Step 1: the preview of a rollback (a dry run: who gains, who loses, flows per switch). */
async function previewRollback(version: number): Promise<void> {
  const out = $('#rollback-out');
  const r = dryRunReply(await change('POST /api/v1/policy/rollback', { version, dryRun: true }));
  if (!r.ok) {
    render(out, html`<h3>Roll back to version ${version}</h3><p class="bad" role="alert">Cannot roll back: ${errorText(r)}</p>`);
    return;
  }
  render(
    out,
    html`<h3>Roll back to version ${version}</h3><p>${accessSummary(r.body.access)}</p>${accessList(r.body.access, 'rollback-changes')}${flowTable(r.body.flows)}
    <p class="actions"><button type="button" id="rollback-confirm" data-version="${version}">${requireApproval ? `Submit rollback to version ${version} for approval` : `Apply rollback to version ${version}`}</button> <button type="button" id="rollback-cancel">Cancel</button></p>`,
  );
  out.scrollIntoView({ block: 'nearest' });
  $button('#rollback-confirm').focus();
  announce(
    `Rollback preview: ${r.body.access.filter((a) => a.change === 'gain').length} gain, ${r.body.access.filter((a) => a.change === 'lose').length} lose`,
  );
}

/** Step 2: apply it (or, under the two-person rule, submit it as a pending change). */
async function applyRollback(version: number): Promise<void> {
  const out = $('#rollback-out');
  const r = await change('POST /api/v1/policy/rollback', { version });
  if (!r.ok) {
    render(out, html`<p class="bad" role="alert">Rollback to version ${version} not applied: ${errorText(r)}</p>`);
    return;
  }
  if ('pending' in r.body) {
    render(
      out,
      html`<p class="ok" id="rollback-pending">Rollback to version ${version} is pending approval by another admin (id <code>${r.body.pending.id}</code>); see the <a href="#pending">Pending</a> page.</p>`,
    );
    announce('Rollback pending approval');
    return;
  }
  render(out, html`<p class="ok" id="rollback-done">Rolled back to version ${version}: now version ${r.body.version}.</p>`);
  announce(`Rolled back to version ${version}`);
  document.dispatchEvent(new CustomEvent('policy-changed'));
}

export function initHistory(): void {
  $('#history').addEventListener('change', () => void compareSelected());
  $('#history').addEventListener('click', (e) => {
    const b = (e.target as HTMLElement).closest<HTMLButtonElement>('button.rollback');
    if (b && state.canMutate) void previewRollback(Number(b.dataset.version));
  });
  $('#rollback-out').addEventListener('click', (e) => {
    const t = e.target as HTMLElement;
    if (t.id === 'rollback-cancel') render('#rollback-out', html``);
    if (t.id === 'rollback-confirm') {
      (t as HTMLButtonElement).disabled = true;
      void applyRollback(Number(t.dataset.version));
    }
  });
}
