import { Flags } from '@oclif/core';
import { AclCommand } from '../base.js';
import { get } from '../client.js';

export default class Status extends AclCommand {
  static description = 'Show a running controller: switches (connected, flows desired vs installed), directory sync, last change, alerts.';
  static flags = {
    controller: Flags.string({ default: 'http://127.0.0.1:8080', description: 'controller API URL' }),
    token: Flags.string({
      description:
        'token (default $ACL_ADMIN_TOKEN, else the token file the controller created: $ACL_TOKEN_FILE or ~/.config/sdn-acl/admin-token)',
    }),
  };

  async run() {
    const { flags } = await this.parse(Status);
    const s = await get(flags.controller, '/api/v1/status', 'api/v1/status', flags.token).catch((e: Error) => this.failMessage(e.message));
    const switches = await get(flags.controller, '/api/v1/switches', 'api/v1/switches', flags.token).catch((e: Error) =>
      this.failMessage(e.message),
    );
    this.log(
      `policy ${s.policy} version ${s.version}; ${s.switches.connected}/${s.switches.total} switches connected, ${s.switches.inSync} in sync`,
    );
    this.log(
      `directory ${s.directory.source}: ${s.directory.entries} users, last sync ${s.directory.lastSuccessAt ?? 'never'}${s.directory.lastError ? `, error: ${s.directory.lastError}` : ''}`,
    );
    if (s.lastChange) this.log(`last change ${s.lastChange.at} by ${s.lastChange.by}: ${s.lastChange.summary}`);
    for (const x of switches) {
      this.log(
        `  ${(x.name ?? '?').padEnd(12)} ${x.dpid} ${x.connected ? 'connected   ' : 'disconnected'} flows ${x.flowsInstalled ?? '-'}/${x.flowsDesired}${x.profile ? `  profile ${x.profile}` : ''}${x.errors.length ? '  ' + x.errors.join('; ') : ''}`,
      );
      for (const l of x.limits ?? []) this.log(`      limit: ${l}`);
    }
    for (const a of s.alerts.slice(-10)) this.log(`  alert ${a.at} ${a.type} ${JSON.stringify(a)}`);
    return { status: s, switches };
  }
}
