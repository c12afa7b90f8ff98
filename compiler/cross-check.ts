/** Checks across the three input files: names the policy uses must exist in the directory and the topology. */
import type { Diagnostic, Directory, Topology } from './model.js';
import { suggest, type Path } from './yaml-source.js';
import { BUILTIN_ROLES, checkFirstContact } from './first-contact.js';
import { checkAuthentication } from './auth.js';
import type { Policy } from './inputs.js';

/** Cross-file checks: names the policy uses must exist in the directory and topology. */
export function crossCheck(policy: Policy, directory: Directory, topology: Topology): Diagnostic[] {
  const src = policy.source;
  const before = src.diagnostics.length;
  const orgs = new Set(directory.organizations.map((o) => o.name));
  // device groups declared in the policy (MAB printers, cameras) are used in selectors like roles
  const roles = new Set([
    ...directory.users.flatMap((u) => u.roles),
    ...(directory.roles ?? []),
    ...BUILTIN_ROLES,
    ...(policy.authentication?.deviceGroups ?? []),
  ]);
  const users = new Set(directory.users.map((u) => u.id));
  const servers = new Set(topology.servers.map((s) => s.name));
  const rawRules = ((src.value as Record<string, unknown>)?.rules ?? []) as unknown[];
  for (const r of policy.rules) {
    const rawFrom = (rawRules[r.index] as Record<string, unknown> | undefined)?.from;
    r.from.forEach((sel, j) => {
      const base: Path = Array.isArray(rawFrom) ? ['rules', r.index, 'from', j] : ['rules', r.index, 'from'];
      (sel.organizations ?? []).forEach((o, k) => {
        if (!orgs.has(o)) src.error([...base, 'organizations', k], 'unknown-organization', `unknown organization '${o}'`, suggest(o, orgs));
      });
      (sel.users ?? []).forEach((u, k) => {
        if (!users.has(u)) src.error([...base, 'users', k], 'unknown-user', `unknown user '${u}'`, suggest(u, users));
      });
      (sel.roles ?? []).forEach((ro, k) => {
        // a misspelt role in a deny rule would deny nobody: an error, unless the directory declares the role
        if (!roles.has(ro))
          src.error(
            [...base, 'roles', k],
            'unknown-role',
            `unknown role '${ro}': no user in the directory has it`,
            suggest(ro, roles) ?? "if nobody holds it yet, list it under 'roles:' in the directory (an LDAP group may be empty)",
          );
      });
    });
  }
  for (const res of policy.resources) {
    res.hosts.forEach((h, i) => {
      if (h.server && !servers.has(h.server))
        src.error(
          ['resources', res.name, 'hosts', i],
          'unknown-server',
          `'${h.server}' is neither an address nor a server in the topology`,
          suggest(h.server, servers),
        );
    });
  }
  checkFirstContact(policy.firstContact, topology, src);
  if (policy.authentication) checkAuthentication(src, policy.authentication, topology);
  // A device bound in the topology must not disagree with the directory's address.
  return src.diagnostics.slice(before);
}
