/**
 * Host discovery from PACKET_INs: deny samples go to the observer, DHCP and EAPOL to the edge, and every other
 * packet from a known device's MAC may bind it to the port it was seen on (rate-limited per port, flapping MACs
 * held). Learned bindings are applied in batches: a burst of PACKET_INs costs one recompile and one sync.
 */
import type { MessageOf } from '../openflow/index.js';
import { bytesToMac, u32ToIpv4 } from '../openflow/index.js';
import type { Binding, Directory, SwitchPlan } from '../compiler/model.js';
import { recompile, type Compiled } from '../compiler/compile.js';
import type { SwitchSession } from './session.js';
import type { ControllerLog, EventSink } from './controller-types.js';
import type { Observer } from './observe.js';
import type { FirstContact } from './first-contact.js';
import type { EdgeHook } from './edge-hook.js';
import type { LearningGuard } from './learning-guard.js';

/** What host discovery needs from the controller (controller.ts implements it). */
export interface ControllerForHosts extends EventSink {
  /** PACKET_INs seen (counted here). */
  packetIns: number;
  /** The running plan: recompiled with each batch of learned bindings. */
  compiled: Compiled;
  readonly directory: Directory;
  /** Learned bindings by MAC (added, moved and removed here). */
  readonly bindings: Map<string, Binding>;
  readonly observe: Pick<Observer, 'onPacketIn'>;
  readonly firstContact: Pick<FirstContact, 'onPacketIn'>;
  readonly edge: Pick<EdgeHook, 'packetIn' | 'input'>;
  readonly learning: Pick<LearningGuard, 'admit' | 'report' | 'move' | 'limits'>;
  readonly log: ControllerLog;
  planFor(dpid: bigint): SwitchPlan | undefined;
  saveState(): Promise<void>;
  syncAll(): Promise<unknown>;
}

export class HostLearning {
  /** Recompiles caused by learned bindings (batched: one per burst of learning, not one per packet). */
  recompiles = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly ctl: ControllerForHosts) {}

  onPacketIn(s: SwitchSession, m: MessageOf<'packet_in'>): void {
    const ctl = this.ctl;
    ctl.packetIns++;
    if (ctl.observe.onPacketIn(s, m)) return; // a deny sample: logged, not discovery
    const inPort = m.match.find((e) => e.field === 'in_port')?.value as number | undefined;
    const d = m.data;
    if (inPort === undefined || d.length < 14 || s.dpid === undefined) return;
    const plan = ctl.planFor(s.dpid);
    if (!plan) return;
    // DHCP snooping first (it must see DHCP on 802.1X ports too); the edge hook still sees the MAC (MAB) and EAPOL
    if (ctl.firstContact.onPacketIn(s, plan.name, inPort, m)) {
      ctl.edge.packetIn(plan.name, inPort, d);
      return;
    }
    if (ctl.edge.packetIn(plan.name, inPort, d)) return; // EAPOL, and devices on authenticating ports
    if (!ctl.learning.admit(s.id, inPort)) return; // over this port's rate: counted, not looked at
    const mac = bytesToMac(d, 6);
    let off = 12;
    let ethType = d.readUInt16BE(off);
    if (ethType === 0x8100 && d.length >= 18) {
      off += 4;
      ethType = d.readUInt16BE(off);
    }
    let ip: string | undefined;
    if (ethType === 0x0800 && d.length >= off + 2 + 16) ip = u32ToIpv4(d.readUInt32BE(off + 2 + 12));
    else if (ethType === 0x0806 && d.length >= off + 2 + 18) ip = u32ToIpv4(d.readUInt32BE(off + 2 + 14));
    if (ip === '0.0.0.0') ip = undefined;
    const user = ctl.compiled.input.directory.users.find((u) => u.devices.some((dv) => dv.mac === mac));
    const server = ctl.compiled.input.topology.servers.find((sv) => sv.mac === mac);
    const bound = ctl.compiled.subjects.flatMap((x) => x.endpoints.map((e) => ({ x, e }))).find(({ e }) => e.mac === mac);
    if (!user && !server) {
      if (ctl.learning.report('unknown', mac)) ctl.event('unknown-device', { switch: plan.name, port: inPort, mac, ip });
      return;
    }
    const isLink = ctl.compiled.input.topology.links.some(
      (l) => (l.a.switch === plan.name && l.a.port === inPort) || (l.b.switch === plan.name && l.b.port === inPort),
    );
    if (isLink) return;
    const staticHost = ctl.compiled.input.topology.hosts.find((h) => h.mac === mac);
    if (server || staticHost) {
      const at = server ? { switch: server.switch, port: server.port } : staticHost!;
      if ((at.switch !== plan.name || at.port !== inPort) && ctl.learning.report('wrong-port', `${mac}@${plan.name}:${inPort}`))
        ctl.event('device-wrong-port', {
          mac,
          ip,
          seenAt: { switch: plan.name, port: inPort },
          expected: at,
          owner: user?.id ?? server?.name,
        });
      return; // statically bound: never moved by learning
    }
    const expectIp = user!.devices.find((dv) => dv.mac === mac)?.ip;
    if (expectIp && ip && ip !== expectIp) {
      if (ctl.learning.report('wrong-ip', `${mac}/${ip}`))
        ctl.event('device-wrong-port', {
          mac,
          ip,
          seenAt: { switch: plan.name, port: inPort },
          owner: user!.id,
          reason: `uses ${ip} instead of ${expectIp}`,
        });
      return;
    }
    // where the device is now: the newest learned binding (applied in batches), else the compiled one
    const learnedAt = ctl.bindings.get(mac);
    const cur = learnedAt
      ? { switch: learnedAt.switch, port: learnedAt.port }
      : bound?.e.switch
        ? { switch: bound.e.switch, port: bound.e.port }
        : undefined;
    if (cur?.switch === plan.name && cur.port === inPort) return; // already known here
    if (cur && learnedAt) {
      // A MAC moving back and forth (spoofed, or a loop) is held where it was: one alert, no recompile per packet.
      const verdict = ctl.learning.move(mac);
      if (verdict === 'held') return;
      if (verdict === 'flapping') {
        ctl.log(
          'warn',
          `MAC ${mac} (${user!.id}) is flapping between ports: held at ${cur.switch}:${cur.port} for ${ctl.learning.limits.holdMs} ms`,
        );
        ctl.event('mac-flapping', {
          mac,
          owner: user!.id,
          heldAt: cur,
          seenAt: { switch: plan.name, port: inPort },
          heldForMs: ctl.learning.limits.holdMs,
        });
        return;
      }
      ctl.event('device-moved', { mac, owner: user!.id, from: cur, to: { switch: plan.name, port: inPort } });
    }
    const b: Binding = { mac, ip: expectIp ?? ip, switch: plan.name, port: inPort, learned: true };
    ctl.bindings.set(mac, b);
    ctl.event('binding-learned', { ...b, owner: user!.id });
    this.scheduleLearned();
  }

  /** Learned bindings are applied in batches: a burst of PACKET_INs costs one recompile and one sync. */
  private scheduleLearned(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.recompiles++;
      const ctl = this.ctl;
      ctl.compiled = recompile(ctl.compiled, ctl.edge.input(ctl.directory, [...ctl.bindings.values()]));
      // durable first, then the switches: a restart never finds flows newer than the state file
      void ctl.saveState().finally(() => ctl.syncAll());
    }, 10);
  }

  /** A binding learned by another cluster node (or its removal): recompile and reconcile what changed. */
  adopt(mac: string, b: Binding | undefined): void {
    const ctl = this.ctl;
    const cur = ctl.bindings.get(mac);
    if (b ? cur && cur.switch === b.switch && cur.port === b.port && cur.ip === b.ip : !cur) return;
    if (b) ctl.bindings.set(mac, { ...b, learned: true });
    else ctl.bindings.delete(mac);
    void ctl.saveState();
    ctl.compiled = recompile(ctl.compiled, ctl.edge.input(ctl.directory, [...ctl.bindings.values()]));
    void ctl.syncAll();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
