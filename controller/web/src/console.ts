/**
 * The web console: overview, access matrix, policy editor (lint, preview, apply, history, rollback), pending
 * changes, sessions, deny log with "why", traffic per rule, directory. Plain DOM and ES modules, no framework;
 * everything goes through the controller's REST API and its event stream.
 */
import { $, $input, announce } from './dom.js';
import { state, setToken } from './state.js';
import { connectEvents, debounce, onEvent } from './events.js';
import { loadOverview } from './pages/overview.js';
import { initMatrix, loadMatrix } from './pages/matrix.js';
import { initPolicy, loadPolicy } from './pages/policy.js';
import { initHistory } from './pages/history.js';
import { initPending, loadPending } from './pages/pending.js';
import { initSessions, loadSessions } from './pages/sessions.js';
import { initDenials, loadDenials, matches } from './pages/denials.js';
import { askFor, initWhy } from './pages/why.js';
import { initRules, loadRules } from './pages/rules.js';
import { loadDirectory } from './pages/directory.js';

const PAGES: Record<string, () => Promise<void>> = {
  overview: loadOverview,
  matrix: loadMatrix,
  policy: loadPolicy,
  pending: loadPending,
  sessions: loadSessions,
  denials: loadDenials,
  rules: loadRules,
  directory: loadDirectory,
};

const pageNow = () => {
  const p = location.hash.slice(1);
  return p in PAGES ? p : 'overview';
};

function show(page: string): void {
  for (const s of document.querySelectorAll<HTMLElement>('main > section')) s.hidden = s.dataset.page !== page;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
    if (a.dataset.page === page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  void refresh(page);
}

async function refresh(page = pageNow()): Promise<void> {
  await PAGES[page]?.();
  document.body.dataset.loaded = page;
}

function init(): void {
  $input('#token').value = state.token;
  $('#token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    setToken($input('#token').value.trim());
    connectEvents();
    void refresh('overview').then(() => refresh());
  });
  window.addEventListener('hashchange', () => show(pageNow()));
  initMatrix();
  initPolicy();
  initHistory();
  initPending();
  initSessions();
  initWhy();
  initDenials((user, resource, service) => {
    askFor(user, resource, service);
    $('#why-box').scrollIntoView({ block: 'nearest' });
  });
  initRules();
  document.addEventListener('policy-changed', () => {
    if (pageNow() === 'policy') void loadPolicy();
  });

  // live updates: each page reloads what an event changes, in bursts of at most one reload per 300 ms
  const reload = (page: string) =>
    debounce(() => {
      if (pageNow() === page) void refresh(page);
    }, 300);
  const overview = reload('overview'),
    matrix = reload('matrix'),
    directory = reload('directory'),
    sessions = reload('sessions');
  const denials = reload('denials'),
    pending = reload('pending'),
    policy = reload('policy');
  onEvent(
    [
      'switch-up',
      'switch-down',
      'switch-synced',
      'policy-applied',
      'directory-synced',
      'binding-learned',
      'unknown-switch',
      'device-wrong-port',
      'directory-failed',
      'switch-error',
    ],
    (e) => {
      announce(`Update: ${e.type.replace(/-/g, ' ')}`);
      overview();
      matrix();
      directory();
    },
  );
  onEvent(['session-started', 'session-ended', 'session-moved', 'session-renewed'], (e) => {
    announce(`Session ${e.type.slice('session-'.length)}: ${e.user ?? e.mac}`);
    sessions();
    directory();
    matrix();
  });
  onEvent(['denial'], (e) => {
    if (matches(e.denial)) denials();
  });
  onEvent(['policy-pending', 'policy-approved', 'policy-rejected', 'policy-expired'], (e) => {
    announce(`Change ${e.id}: ${e.type.slice('policy-'.length)}`);
    pending();
    policy();
    void loadPending(); // the nav badge counts pending changes on every page
  });
  onEvent(['policy-applied'], () => policy());
  connectEvents();
  void loadOverview().then(() => {
    show(pageNow());
    void loadPending();
  });
}

init();
