import { Args, Flags } from '@oclif/core';
import { readFile } from 'node:fs/promises';
import { AclCommand } from '../base.js';
import { answerText, change } from '../client.js';
import type { ChangeRefusal, MonitorStartedReply, PendingCreatedReply } from '../../controller/api/contract.js';

export default class Apply extends AclCommand {
  static description =
    'Send a policy to a running controller: show who gains and who loses access and the flow changes per switch, then apply (atomically per switch).';
  static examples = ['<%= config.bin %> apply examples/campus/policy.yaml --controller http://127.0.0.1:8080 --dry-run'];
  static args = {
    policy: Args.string({
      required: true,
      description: 'policy YAML (directory and topology paths are resolved by the controller, relative to its own policy file)',
    }),
  };
  static flags = {
    controller: Flags.string({ default: 'http://127.0.0.1:8080', description: 'controller API URL' }),
    'dry-run': Flags.boolean({ description: 'only show what would change' }),
    monitor: Flags.boolean({
      description:
        'monitor mode: keep the running policy enforced and log what this one would deny as "would deny" (acl monitor shows it); promote with a plain apply',
      exclusive: ['dry-run', 'base-version'],
    }),
    'base-version': Flags.integer({
      min: 0,
      description: 'apply only if the running policy is still at this version (the one you reviewed); otherwise refuse with a conflict',
    }),
    token: Flags.string({
      description:
        'admin token (default $ACL_ADMIN_TOKEN, else the token file the controller created: $ACL_TOKEN_FILE or ~/.config/sdn-acl/admin-token)',
    }),
  };

  async run() {
    const { args, flags } = await this.parse(Apply);
    let text: string;
    try {
      text = await readFile(args.policy, 'utf8');
    } catch (e) {
      this.failMessage(`cannot read ${args.policy}: ${(e as Error).message}`);
    }
    const failed = (e: Error) => this.failMessage(e.message);
    if (flags.monitor) {
      const m = await change(flags.controller, 'POST /api/v1/policy/monitor', 'api/v1/policy/monitor', { text }, flags.token).catch(failed);
      if (!m.ok) this.refused(m);
      return 'pending' in m.body ? this.pending(m.body) : this.monitoring(m.body);
    }
    const q = new URLSearchParams();
    if (flags['dry-run']) q.set('dryRun', 'true');
    if (flags['base-version'] !== undefined) q.set('baseVersion', String(flags['base-version']));
    const path = `api/v1/policy${q.size ? `?${q}` : ''}`;
    const r = await change(flags.controller, 'POST /api/v1/policy', path, { text }, flags.token).catch(failed);
    if (!r.ok) this.refused(r);
    if ('pending' in r.body) return this.pending(r.body);
    const res = r.body;
    const gains = res.access.filter((a) => a.change === 'gain');
    const losses = res.access.filter((a) => a.change === 'lose');
    if (!this.jsonEnabled()) {
      this.log(`${flags['dry-run'] ? 'Would change' : 'Applied'}: ${gains.length} gain, ${losses.length} lose`);
      for (const a of gains) this.log(`  + ${a.subject} -> ${a.resource} ${a.service}  (${a.rule})`);
      for (const a of losses) this.log(`  - ${a.subject} -> ${a.resource} ${a.service}`);
      for (const f of res.flows) this.log(`  switch ${f.switch}: +${f.added} -${f.removed} flows (${f.unchanged} unchanged)`);
      if (res.seen) {
        this.log(
          `Seen since ${res.seen.since}: ${res.seen.cut.length} connection(s) this change would cut, ${res.seen.open.length} it would open`,
        );
        for (const x of res.seen.cut) this.log(`  cut  ${x.subject} -> ${x.resource} ${x.service}  (traffic seen ${x.lastSeen})`);
        for (const x of res.seen.open)
          this.log(`  open ${x.subject} -> ${x.resource} ${x.service}  (${x.denied} denied, last ${x.lastSeen})`);
      }
      if (!flags['dry-run']) {
        for (const x of res.results ?? []) if (x.errors.length) this.logToStderr(`  ${x.switch}: ${x.errors.join('; ')}`);
        this.log(`policy version ${res.version}`);
      }
    }
    return res;
  }

  /**
   * A refused change: an invalid policy's diagnostics (422) as file:line:column lines; a conflict (409: the running
   * version moved) or an unreachable etcd (503) as its message; an error reply (no token, approvals) as the controller's.
   */
  private refused(r: { readonly status: number; readonly body: ChangeRefusal }): never {
    const b = r.body;
    if ('error' in b) this.failMessage(answerText(r));
    if (r.status === 422) this.fail(b.diagnostics);
    this.failMessage(b.errors.join('; '));
  }

  /** Two-person rule: the change waits for another admin. */
  private pending(b: PendingCreatedReply): PendingCreatedReply {
    const p = b.pending;
    this.log(`pending approval by another admin: id ${p.id}, expires ${p.expiresAt}; ${p.summary}`);
    for (const a of p.access) this.log(`  ${a.change === 'gain' ? '+' : '-'} ${a.subject} -> ${a.resource} ${a.service}`);
    this.log(`approve with: acl approve ${p.id} --token <another admin's token>`);
    return b;
  }

  private monitoring(m: MonitorStartedReply): MonitorStartedReply {
    if (this.jsonEnabled()) return m;
    const lose = m.monitor.access.filter((a) => a.change === 'lose');
    this.log(`Monitoring ${m.monitor.name}: the running version ${m.monitor.baseVersion} stays enforced.`);
    this.log(`If applied, ${lose.length} would lose access:`);
    for (const a of lose) this.log(`  - ${a.subject} -> ${a.resource} ${a.service}`);
    this.log(
      'What it would deny is logged as "would deny": acl monitor (or acl denials --would-deny). Promote: acl apply with the same file.',
    );
    return m;
  }
}
