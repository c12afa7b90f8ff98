/** The directory: GET /directory (organizations, roles, users with their devices and where they are), POST /directory/confirm-shrink. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Controller } from '../controller.js';
import type { Auth } from './auth.js';
import { ConfirmShrinkReply, DirectoryReply, type DirectoryReply as Directory } from './contract.js';
import { fail, send } from './reply.js';

export interface DirectoryRoutesOptions {
  readonly ctl: Controller;
  readonly auth: Auth;
}

export const directoryRoutes: FastifyPluginAsyncTypebox<DirectoryRoutesOptions> = async (r, { ctl, auth }) => {
  r.get('/directory', { preHandler: auth.requireRead, schema: { response: { 200: DirectoryReply } } }, async (_req, reply) => {
    const d = ctl.compiled.input.directory;
    const learnedIpv6 = (mac: string) => {
      const l = ctl.firstContact.ipv6.leases.byMac(mac);
      return l.length
        ? {
            learnedIpv6: l.map((x) => ({
              ip: x.ip,
              source: x.source,
              switch: x.switch,
              port: x.port,
              ...(x.expires ? { expires: x.expires } : {}),
            })),
          }
        : {};
    };
    const where = new Map(ctl.compiled.subjects.flatMap((s) => s.endpoints.map((e) => [e.mac, e])));
    const out: Directory = {
      source: d.source,
      status: ctl.directoryStatus,
      organizations: d.organizations.map((o) => ({ name: o.name, parent: o.parent ?? null })),
      roles: [...new Set([...d.users.flatMap((u) => u.roles), ...(d.roles ?? [])])].sort(),
      users: d.users.map((u) => ({
        id: u.id,
        name: u.name,
        organization: u.organization ?? null,
        roles: [...u.roles],
        devices: u.devices.map(({ ipv6, ...dv }) => ({
          ...dv,
          ...(ipv6?.length ? { ipv6: [...ipv6] } : {}),
          ...learnedIpv6(dv.mac),
          switch: where.get(dv.mac)?.switch ?? null,
          port: where.get(dv.mac)?.port ?? null,
          learned: ctl.bindings.has(dv.mac),
        })),
      })),
      servers: ctl.compiled.input.topology.servers.map((s) => ({
        name: s.name,
        mac: s.mac,
        ip: s.ip,
        ...(s.ipv6?.length ? { ipv6: [...s.ipv6] } : {}),
        switch: s.switch,
        port: s.port,
      })),
    };
    return send(reply, out);
  });
  r.post(
    '/directory/confirm-shrink',
    { preHandler: auth.requireAdmin, schema: { response: { 200: ConfirmShrinkReply } } },
    async (req, reply) => {
      if (!ctl.directorySync) return fail(reply, 409, 'not-ldap', 'the directory is a file, not synced from LDAP');
      const accepted = await ctl.confirmShrink(auth.who(req)?.name ?? 'unknown');
      return send(reply, { accepted, status: { ...ctl.directoryStatus, ...ctl.directorySync.status() } });
    },
  );
};
