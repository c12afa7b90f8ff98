/**
 * A switch connecting: its session's events wired to the controller, and once its handshake is done, who it claims
 * to be checked (TLS certificate, a live session already holding its dpid) before it becomes the switch's session,
 * its profile detected, and its first sync started.
 */
import type { Socket } from 'node:net';
import type { MessageOf } from '../openflow/index.js';
import { recompile } from '../compiler/compile.js';
import { SwitchSession } from './session.js';
import { detectedProfile } from './switch-profile.js';
import type { Violation } from './peer-limits.js';
import { certificateMismatch, contest } from './switch-identity.js';
import type { Compiled } from '../compiler/compile.js';
import type { SwitchPlan } from '../compiler/model.js';
import type { ControllerLog, ControllerOptions, EventSink } from './controller-types.js';
import type { GlobalBudget } from './peer-limits.js';
import type { SwitchSync } from './switch-sync.js';
import type { HostLearning } from './host-learning.js';

/** What accepting a switch needs from the controller (controller.ts implements it). */
export interface ControllerForAccept extends EventSink {
  readonly opts: Pick<ControllerOptions, 'session' | 'tls' | 'tlsBindSwitch' | 'contestTimeoutMs'>;
  /** The connected switches by dpid: a session is added once its claim is checked, removed when it closes. */
  readonly sessions: Map<string, SwitchSession>;
  readonly peerBudget: GlobalBudget;
  packetInsDroppedClosed: number;
  /** The running plan: recompiled for a switch's detected profile. */
  compiled: Compiled;
  readonly switches: Pick<SwitchSync, 'disconnected'>;
  readonly hosts: Pick<HostLearning, 'onPacketIn'>;
  readonly log: ControllerLog;
  planFor(dpid: bigint): SwitchPlan | undefined;
  sync(dpid: string): Promise<unknown>;
}

/** Wraps a new OpenFlow connection in a session and listens to it. */
export function acceptSwitch(ctl: ControllerForAccept, sock: Socket): void {
  const s = new SwitchSession(sock, { ...ctl.opts.session, budget: ctl.peerBudget });
  s.on('violation', (v: Violation) => {
    ctl.log('warn', `disconnected OpenFlow peer ${s.dpid !== undefined ? s.id : s.remote}: ${v.message}`);
    ctl.event('peer-violation', { dpid: s.dpid !== undefined ? s.id : undefined, remote: s.remote, kind: v.kind, error: v.message });
  });
  s.on('ready', () => void adopt(ctl, s));
  s.on('closed', (reason: string) => {
    ctl.packetInsDroppedClosed += s.packetInsDropped;
    if (s.dpid !== undefined && ctl.sessions.get(s.id) === s) {
      ctl.sessions.delete(s.id);
      const name = ctl.planFor(s.dpid)?.name;
      ctl.log('info', `switch ${name ?? s.id} disconnected: ${reason}`);
      ctl.event('switch-down', { switch: name, dpid: s.id, reason });
      ctl.switches.disconnected(s.id, !!name);
    } else ctl.log('warn', `connection from ${s.remote} dropped: ${reason}`);
  });
  // only the session that speaks for its dpid is listened to (not a newcomer being checked)
  s.on('packet_in', (m: MessageOf<'packet_in'>) => {
    if (ctl.sessions.get(s.id) === s) ctl.hosts.onPacketIn(s, m);
  });
  s.on('switch_error', (e: { error: string }) => ctl.event('switch-error', { dpid: s.id, error: e.error }));
  s.on('port_status', (m: MessageOf<'port_status'>) =>
    ctl.event('port-status', {
      dpid: s.id,
      switch: s.dpid !== undefined ? ctl.planFor(s.dpid)?.name : undefined,
      port: m.desc.portNo,
      name: m.desc.name,
      reason: m.reason,
      down: m.reason === 'delete' || (m.desc.state & 1) !== 0 || (m.desc.config & 1) !== 0,
    }),
  );
}

/** The session is refused when its certificate does not name the switch, or the dpid's live session still answers. */
async function refused(ctl: ControllerForAccept, s: SwitchSession): Promise<boolean> {
  const id = s.id;
  if (ctl.opts.tls && ctl.opts.tlsBindSwitch) {
    const why = certificateMismatch(s.socket, s.dpid!, ctl.planFor(s.dpid!)?.name);
    if (why) {
      ctl.log('warn', `refused ${s.remote} claiming ${id}: ${why}`);
      ctl.event('switch-impostor', { dpid: id, remote: s.remote, reason: why });
      s.close(`certificate does not match the switch: ${why}`);
      return true;
    }
  }
  const old = ctl.sessions.get(id);
  if (old && old !== s) {
    // The live switch keeps its session unless it no longer answers.
    const verdict = await contest(old, ctl.opts.contestTimeoutMs ?? 3000);
    if (s.state !== 'ready') return true;
    if (verdict === 'keep' && ctl.sessions.get(id) === old) {
      ctl.log('warn', `refused ${s.remote} claiming ${id}: the switch is connected from ${old.remote} and answers`);
      ctl.event('switch-impostor', {
        dpid: id,
        switch: ctl.planFor(s.dpid!)?.name,
        remote: s.remote,
        live: old.remote,
        reason: 'dpid already connected and alive',
      });
      s.close('dpid already connected (the live session answered)');
      return true;
    }
    if (ctl.sessions.get(id) === old) old.close(`replaced by ${s.remote}: did not answer an echo`);
  }
  return false;
}

/** A session finished its handshake: check who it claims to be, then make it the switch's session. */
async function adopt(ctl: ControllerForAccept, s: SwitchSession): Promise<void> {
  if (await refused(ctl, s)) return;
  const id = s.id;
  ctl.sessions.set(id, s);
  const plan = ctl.planFor(s.dpid!);
  if (!plan) {
    ctl.log('warn', `unknown switch ${id} from ${s.remote}: held (nothing of ours installed)`);
    ctl.event('unknown-switch', { dpid: id, remote: s.remote });
    void ctl.sync(id);
    return;
  }
  ctl.log('info', `switch ${plan.name} (${id}) connected from ${s.remote}`);
  ctl.event('switch-up', { switch: plan.name, dpid: id });
  const prof = detectedProfile(ctl.compiled.input.topology, plan, s);
  if (prof) {
    ctl.log('info', `switch ${plan.name} reports ${s.desc?.mfrDesc} ${s.desc?.hwDesc}: compiling its flows for profile ${prof}`);
    try {
      ctl.compiled = recompile(ctl.compiled, { detected: new Map([...(ctl.compiled.input.detected ?? []), [plan.name, prof]]) });
    } catch (e) {
      ctl.log('error', `recompile for profile ${prof}: ${(e as Error).message}`);
    }
  }
  void ctl.sync(id);
}
