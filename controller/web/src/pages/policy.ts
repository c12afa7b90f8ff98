/** Policy editor: YAML with line numbers, errors and lint warnings at their lines; preview who gains/loses; apply. */
import { $, $button, announce, esc, html, Html, join, plural, render } from '../dom.js';
import { change, diagnosticsOf, dryRunReply, errorText, get, type Refusal } from '../api.js';
import { state } from '../state.js';
import { accessList, accessSummary, flowTable } from './changes.js';
import { loadHistory } from './history.js';
import type { Diagnostic, LintFinding } from '../../../api/contract.js';

let current = { version: 0, text: '', path: '' };
let errorLines = new Set<number>();
/** Lint warnings by line (of the text in the editor). */
let warnings = new Map<number, LintFinding[]>();
let lintSeq = 0;

const textarea = () => $<HTMLTextAreaElement>('#policy-text');

function highlight(text: string): string {
  return (
    text
      .split('\n')
      .map((line, i) => {
        let h = esc(line)
          .replace(/(#.*)$/, '<span class="y-comment">$1</span>')
          .replace(/^(\s*-?\s*)([\w-]+)(:)/, '$1<span class="y-key">$2</span>$3')
          .replace(/([{,]\s*)([\w-]+)(:)/g, '$1<span class="y-key">$2</span>$3')
          .replace(/(&quot;[^&]*&quot;)/g, '<span class="y-str">$1</span>')
          .replace(/\b(\d+(?:\.\d+){0,3}(?:\/\d+)?)\b/g, '<span class="y-num">$1</span>');
        if (errorLines.has(i + 1)) h = `<span class="y-line-err">${h || ' '}</span>`;
        else if (warnings.has(i + 1)) h = `<span class="y-line-warn">${h || ' '}</span>`;
        return h;
      })
      .join('\n') + '\n'
  );
}

function renderEditor(): void {
  const ta = textarea();
  const n = ta.value.split('\n').length;
  const gutter: Html[] = [];
  for (let i = 1; i <= n; i++) {
    const w = warnings.get(i);
    if (errorLines.has(i)) gutter.push(html`<span class="err" title="error on this line">${i}</span>`);
    else if (w) gutter.push(html`<span class="warn" title="${w.map((f) => f.message).join('\n')}">${i}</span>`);
    else gutter.push(html`${i}`);
  }
  render('#policy-gutter', join(gutter, '\n'));
  // the highlighted copy under the textarea: highlight() escapes every line itself
  render('#policy-highlight', new Html(highlight(ta.value)));
  ta.style.height = `${Math.max(n, 10) * 19.5 + 16}px`;
}

/** Is this diagnostic about the policy file (not the directory or topology it includes)? */
const inPolicy = (file: string | undefined) =>
  file !== undefined && (file === current.path || current.path.endsWith(`/${file}`) || file.endsWith(`/${current.path.split('/').pop()}`));

/** Lint warnings for the editor's text, shown at their lines (a newer edit wins over an older answer). */
export async function lint(): Promise<void> {
  const seq = ++lintSeq;
  const text = textarea().value;
  const r = await change('POST /api/v1/policy/lint', { text });
  if (seq !== lintSeq) return;
  warnings = new Map();
  if (!r.ok) {
    render('#policy-lint', html``);
    renderEditor();
    return;
  } // errors are the preview's to show
  const shown = r.body.findings.filter((f) => f.severity !== 'info');
  const here = shown.filter((f) => f.location && inPolicy(f.location.file));
  for (const f of here) warnings.set(f.location!.line, [...(warnings.get(f.location!.line) ?? []), f]);
  render(
    '#policy-lint',
    shown.length
      ? html`<h3>${plural(shown.length, 'warning')} from lint</h3><ul>${shown.map((f) => html`<li class="lint-${f.severity}" data-line="${f.location?.line ?? ''}">${f.location && inPolicy(f.location.file) ? html`<a href="#policy" data-goto="${f.location.line}">line ${f.location.line}</a>` : f.location ? `${f.location.file}:${f.location.line}` : 'policy'}: ${f.message}${f.hint ? html` <em>(${f.hint})</em>` : ''} <small>[${f.code}]</small></li>`)}</ul>`
      : html``,
  );
  renderEditor();
}

export async function loadPolicy(): Promise<void> {
  const r = await get('/api/v1/policy');
  if (!r.ok) return;
  current = { version: r.body.version, text: r.body.text, path: r.body.path };
  $('#policy-version').textContent = `(version ${current.version})`;
  const ta = textarea();
  if (!ta.dataset.dirty) ta.value = current.text;
  ta.readOnly = !state.canMutate;
  renderEditor();
  await Promise.all([lint(), loadHistory()]);
}

function resetPreview(): void {
  $button('#apply').disabled = true;
  render('#preview-out', html``);
}

function showErrors(body: Refusal, status: number): void {
  const ds: readonly Diagnostic[] = diagnosticsOf(body).filter((d) => d.severity === 'error');
  errorLines = new Set(ds.filter((d) => d.location && inPolicy(d.location.file)).map((d) => d.location!.line));
  if (!ds.length) {
    render('#policy-errors', html`<p>${errorText({ status, body })}</p>`);
    return;
  }
  render(
    '#policy-errors',
    html`<p>${plural(ds.length, 'error')}; nothing was applied.</p><ul>${ds.map((d) => html`<li>line ${d.location?.line ?? '?'}, column ${d.location?.column ?? '?'}: ${d.message}${d.hint ? html` <em>(${d.hint})</em>` : ''}</li>`)}</ul>`,
  );
}

async function preview(): Promise<void> {
  const r = dryRunReply(await change('POST /api/v1/policy', textarea().value, { query: { dryRun: true } }));
  errorLines = new Set();
  void lint();
  if (!r.ok) {
    showErrors(r.body, r.status);
    renderEditor();
    resetPreview();
    announce(`${diagnosticsOf(r.body).filter((d) => d.severity === 'error').length} errors in the policy`);
    return;
  }
  render('#policy-errors', html``);
  renderEditor();
  const res = r.body;
  render(
    '#preview-out',
    html`<h3>Preview</h3><p>${accessSummary(res.access)}</p>${accessList(res.access, 'preview-changes')}${flowTable(res.flows)}`,
  );
  $button('#apply').disabled = !state.canMutate;
  const gains = res.access.filter((a) => a.change === 'gain').length;
  announce(`Preview: ${gains} gain, ${res.access.length - gains} lose`);
}

async function apply(): Promise<void> {
  const dlg = $<HTMLDialogElement>('#confirm');
  render('#confirm-summary', new Html($('#preview-out').innerHTML)); // a copy of markup built by html``
  dlg.returnValue = '';
  dlg.showModal();
  await new Promise<void>((res) => dlg.addEventListener('close', () => res(), { once: true }));
  if (dlg.returnValue !== 'apply') return;
  const r = await change('POST /api/v1/policy', textarea().value);
  if (r.ok && r.status === 202 && 'pending' in r.body) {
    const p = r.body.pending;
    render(
      '#preview-out',
      html`<p class="ok" id="pending-note">Pending approval by another admin (id <code>${p.id}</code>, expires ${p.expiresAt}): nothing is applied until a different admin approves it on the <a href="#pending">Pending</a> page (or acl approve ID).</p>`,
    );
    $button('#apply').disabled = true;
    announce('Change pending approval');
    return;
  }
  if (!r.ok || !('results' in r.body)) {
    render('#policy-errors', html`<p>Not applied: ${r.ok ? 'unexpected answer' : errorText(r)}</p>`);
    return;
  }
  const res = r.body;
  delete textarea().dataset.dirty;
  render(
    '#preview-out',
    html`<p class="ok">Applied as version ${res.version}. ${join(
      (res.results ?? []).map(
        (x) => html`${x.switch}: +${x.added} −${x.removed}${x.errors.length ? html` <span class="bad">${x.errors.join('; ')}</span>` : ''}`,
      ),
      ' · ',
    )}</p>`,
  );
  $button('#apply').disabled = true;
  announce(`Policy version ${res.version} applied`);
  await loadPolicy();
}

export function initPolicy(): void {
  const ta = textarea();
  let lintTimer: number | undefined;
  ta.addEventListener('input', () => {
    ta.dataset.dirty = '1';
    errorLines = new Set();
    resetPreview();
    renderEditor();
    if (lintTimer !== undefined) clearTimeout(lintTimer);
    lintTimer = window.setTimeout(() => void lint(), 600);
  });
  ta.addEventListener('keydown', (e) => {
    if (e.key === 'Tab' && !e.shiftKey && !e.ctrlKey) {
      // two spaces, not focus change, while editing; Esc then Tab leaves
      if (ta.dataset.escaped) {
        delete ta.dataset.escaped;
        return;
      }
      e.preventDefault();
      ta.setRangeText('  ', ta.selectionStart, ta.selectionEnd, 'end');
      ta.dispatchEvent(new Event('input'));
    } else if (e.key === 'Escape') ta.dataset.escaped = '1';
  });
  $('#preview').addEventListener('click', () => void preview());
  $('#apply').addEventListener('click', () => void apply());
  $('#revert').addEventListener('click', () => {
    delete ta.dataset.dirty;
    ta.value = current.text;
    errorLines = new Set();
    render('#policy-errors', html``);
    resetPreview();
    renderEditor();
    void lint();
  });
  // a lint entry's line link puts the cursor on that line
  $('#policy-lint').addEventListener('click', (e) => {
    const a = (e.target as HTMLElement).closest<HTMLAnchorElement>('a[data-goto]');
    if (!a) return;
    e.preventDefault();
    const line = Number(a.dataset.goto);
    const start = ta.value
      .split('\n')
      .slice(0, line - 1)
      .reduce((n, l) => n + l.length + 1, 0);
    ta.focus();
    ta.setSelectionRange(start, start);
  });
}
