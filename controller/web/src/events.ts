/** The controller's live events (/api/v1/events, server-sent), as a typed union the pages subscribe to. */
import { state } from './state.js';
import type { ConsoleEvent, EventType } from './types.js';

export const EVENT_TYPES: readonly EventType[] = [
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
  'session-started',
  'session-ended',
  'session-moved',
  'session-renewed',
  'denial',
  'policy-pending',
  'policy-approved',
  'policy-rejected',
  'policy-expired',
  'approval-refused',
];

/** The events of these types (an event kind sharing one shape across several types is narrowed to those). */
type Narrow<E, K> = E extends { readonly type: infer T }
  ? [Extract<T, K>] extends [never]
    ? never
    : E & { readonly type: Extract<T, K> }
  : never;
type Of<K extends EventType> = Narrow<ConsoleEvent, K>;
const handlers: Array<{ types: ReadonlySet<EventType>; fn: (e: ConsoleEvent) => void }> = [];
let source: EventSource | undefined;

/** Calls `fn` for each event of these types. */
export function onEvent<K extends EventType>(types: readonly K[], fn: (e: Of<K>) => void): void {
  handlers.push({ types: new Set<EventType>(types), fn: fn as (e: ConsoleEvent) => void });
}

function dispatch(type: EventType, data: string): void {
  let e: ConsoleEvent;
  try {
    e = { ...(JSON.parse(data) as object), type } as ConsoleEvent;
  } catch {
    return;
  }
  for (const h of handlers) if (h.types.has(type)) h.fn(e);
}

/** (Re)connects with the current token (EventSource cannot send headers: the token goes in the query). */
export function connectEvents(): void {
  source?.close();
  const es = new EventSource(`/api/v1/events${state.token ? `?token=${encodeURIComponent(state.token)}` : ''}`);
  for (const type of EVENT_TYPES) es.addEventListener(type, (m) => dispatch(type, (m as MessageEvent<string>).data));
  es.addEventListener('hello', () => document.body.setAttribute('data-events', 'connected'));
  source = es;
}

/** Runs `fn` at most once per `ms` after the last call (bursts of events become one reload). */
export function debounce(fn: () => void, ms = 250): () => void {
  let t: number | undefined;
  return () => {
    if (t !== undefined) clearTimeout(t);
    t = window.setTimeout(() => {
      t = undefined;
      fn();
    }, ms);
  };
}
