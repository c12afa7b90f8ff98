/** The controller's live events (/api/v1/events, server-sent), typed by the controller's own event union (controller/events.ts). */
import { state } from './state.js';
import { contractBody } from './api.js';
import { EVENT_TYPES, type ControllerEvent, type EventOf, type EventType } from '../../events.js';

const handlers: Array<{ types: ReadonlySet<EventType>; fn: (e: ControllerEvent) => void }> = [];
let source: EventSource | undefined;

/** Calls `fn` for each event of these types. */
export function onEvent<K extends EventType>(types: readonly K[], fn: (e: EventOf<K>) => void): void {
  const wanted: ReadonlySet<EventType> = new Set<K>(types);
  const isWanted = (e: ControllerEvent): e is EventOf<K> => wanted.has(e.type);
  handlers.push({
    types: wanted,
    fn: (e) => {
      if (isWanted(e)) fn(e);
    },
  });
}

function dispatch(type: EventType, data: unknown): void {
  let payload: unknown;
  try {
    payload = typeof data === 'string' ? JSON.parse(data) : undefined;
  } catch {
    return;
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return;
  // the SSE `event:` name is the type; the data is the event the controller emitted (controller/events.ts)
  const e = contractBody<ControllerEvent>({ ...payload, type });
  for (const h of handlers) h.fn(e);
}

/** (Re)connects with the current token (EventSource cannot send headers: the token goes in the query). */
export function connectEvents(): void {
  source?.close();
  const es = new EventSource(`/api/v1/events${state.token ? `?token=${encodeURIComponent(state.token)}` : ''}`);
  const wanted = new Set(handlers.flatMap((h) => [...h.types]));
  for (const type of EVENT_TYPES)
    if (wanted.has(type))
      es.addEventListener(type, (m) => {
        if (m instanceof MessageEvent) dispatch(type, m.data);
      });
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
