import { Args } from '@oclif/core';
import { AclCommand } from '../../base.js';

export default class DirectoryShow extends AclCommand {
  static description = "Print the policy's directory as resolved (file or LDAP): organizations, users, roles and devices.";
  static args = { policy: Args.string({ required: true }) };

  async run() {
    const { args } = await this.parse(DirectoryShow);
    const { loaded } = await this.load(args.policy);
    const d = loaded.directory;
    const roles = [...new Set([...d.users.flatMap((u) => u.roles), ...(d.roles ?? [])])].sort(); // held by someone, or declared (directory.yaml roles:, LDAP groups)
    if (!this.jsonEnabled()) {
      this.log(`source: ${d.source}`);
      this.log(
        `organizations (${d.organizations.length}): ${d.organizations.map((o) => (o.parent ? `${o.name} < ${o.parent}` : o.name)).join(', ')}`,
      );
      this.log(`roles (${roles.length}): ${roles.join(', ')}`);
      this.log(`users (${d.users.length}):`);
      for (const u of d.users)
        this.log(
          `  ${u.id.padEnd(12)} ${u.name.padEnd(20)} org=${u.organization ?? '-'} roles=${u.roles.join(',') || '-'} devices=${u.devices.map((x) => `${x.mac}${x.ip ? '/' + x.ip : ''}`).join(' ') || '-'}`,
        );
    }
    return { source: d.source, organizations: d.organizations, roles, users: d.users.map(({ location: _l, ...u }) => u) };
  }
}
