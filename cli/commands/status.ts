import { Flags } from '@oclif/core';
import { AclCommand } from '../base.js';
import { api } from '../client.js';

export default class Status extends AclCommand {
  static description = 'Show a running controller: switches (connected, flows desired vs installed), directory sync, last change, alerts.';
  static flags = {
    controller: Flags.string({ default: 'http://127.0.0.1:8080', description: 'controller API URL' }),
    token: Flags.string({ description: 'token (default $ACL_ADMIN_TOKEN, else the token file the controller created: $ACL_TOKEN_FILE or ~/.config/sdn-acl/admin-token)' }),
  };

  async run() {
    const { flags } = await this.parse(Status);
    let st, sw;
    try {
      st = await api(flags.controller, 'api/v1/status', { token: flags.token });
      sw = await api(flags.controller, 'api/v1/switches', { token: flags.token });
    } catch (e) { this.failMessage((e as Error).message); }
    if (st.status !== 200) this.failMessage(`controller answered ${st.status}: ${st.body?.error ?? ''}`);
    const s = st.body;
    this.log(`policy ${s.policy} version ${s.version}; ${s.switches.connected}/${s.switches.total} switches connected, ${s.switches.inSync} in sync`);
    this.log(`directory ${s.directory.source}: ${s.directory.entries} users, last sync ${s.directory.lastSuccessAt ?? 'never'}${s.directory.lastError ? `, error: ${s.directory.lastError}` : ''}`);
    if (s.lastChange) this.log(`last change ${s.lastChange.at} by ${s.lastChange.by}: ${s.lastChange.summary}`);
    for (const x of sw.body) {
      this.log(`  ${(x.name ?? '?').padEnd(12)} ${x.dpid} ${x.connected ? 'connected   ' : 'disconnected'} flows ${x.flowsInstalled ?? '-'}/${x.flowsDesired}${x.profile ? `  profile ${x.profile}` : ''}${x.errors.length ? '  ' + x.errors.join('; ') : ''}`);
      for (const l of x.limits ?? []) this.log(`      limit: ${l}`);
    }
    for (const a of s.alerts.slice(-10)) this.log(`  alert ${a.at} ${a.type} ${JSON.stringify(a)}`);
    return { status: s, switches: sw.body };
  }
}
