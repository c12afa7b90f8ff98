/**
 * IPv6 in the console and the API lists (Debian's /usr/bin/chromium through playwright-core): a dual-stack policy
 * (a device with IPv6 in the directory, one whose IPv6 address was learned by the controller, a dual-stack server, a
 * resource with an IPv6 prefix). The directory page shows listed and learned IPv6 addresses (learned ones marked with
 * how), the servers' IPv6 addresses; the sessions page shows a session's IPv6 addresses; the access matrix names each
 * resource's addresses of both families. The same fields are checked in the JSON replies (their schemas are checked
 * too: vitest sets ACL_CHECK_REPLIES). No switch is needed.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { DirectoryReply, MatrixReply, SessionsReply } from '../../controller/api/contract.js';
import { tempDir } from '../helpers/tmp.js';
import { startConsoleLab, type ConsoleLab } from '../helpers/console-lab.js';
import { describeWith } from '../helpers/needs.js';
import { haveChromium, openPage } from '../helpers/browser.js';

const ARTIFACTS = new URL('../../test-artifacts/web/', import.meta.url).pathname;
const ADMIN = 'v6-console-admin';
const MAC = { alice: '02:6c:00:00:00:01', carol: '02:6c:00:00:00:02', web: '02:6c:00:00:00:10' };
const V6 = { alice: '2001:db8:6c::a', carol: '2001:db8:6c::c7', web: '2001:db8:6c:2::10' };

const POLICY = `version: 1
directory: d.yaml
topology: t.yaml
resources:
  web: { hosts: [web], services: [tcp/443] }
  v6net: { hosts: ["2001:db8:6c:9::/64"], services: [udp/53] }
rules:
  - { name: staff, from: { roles: [staff] }, to: [web, v6net] }
ipv6: { learn: [nd, dhcpv6] }
`;
const DIRECTORY = `users:
  - { id: alice, name: Alice, roles: [staff], devices: [{ mac: "${MAC.alice}", ip: 10.98.0.1, ipv6: ["${V6.alice}"] }] }
  - { id: carol, name: Carol, roles: [staff], devices: [{ mac: "${MAC.carol}", ip: 10.98.0.2 }] }
`;
const TOPOLOGY = `switches: [{ name: e1, dpid: 0x6c01 }]
hosts:
  - { mac: "${MAC.alice}", switch: e1, port: 1 }
  - { mac: "${MAC.carol}", switch: e1, port: 2 }
servers:
  - { name: web, switch: e1, port: 3, mac: "${MAC.web}", ip: 10.98.2.10, ipv6: ["${V6.web}"] }
`;

describeWith({ Chromium: haveChromium }, 'console and API: IPv6 addresses in the directory, sessions and matrix lists', () => {
  let lab: ConsoleLab, page: Page, base: string;
  let errors: string[];
  const get = async <T>(path: string): Promise<T> => {
    const r = await fetch(`${base}api/v1/${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(r.status, path).toBe(200);
    return (await r.json()) as T;
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const dir = tempDir('v6web-');
    writeFileSync(join(dir, 'p.yaml'), POLICY);
    writeFileSync(join(dir, 'd.yaml'), DIRECTORY);
    writeFileSync(join(dir, 't.yaml'), TOPOLOGY);
    lab = await startConsoleLab({
      controller: { policyPath: join(dir, 'p.yaml') },
      app: { adminToken: ADMIN },
      noSwitch: true,
      before: (c) => {
        // carol's address as ND/DAD snooping learns it; both logged in on their ports
        const lease = c.firstContact.ipv6.leases.add({ mac: MAC.carol, ip: V6.carol, switch: 'e1', port: 2, seconds: 3600, source: 'nd' });
        expect(lease.ok).toBe(true);
        expect(c.edge.sessions.add({ mac: MAC.alice, switch: 'e1', port: 1, method: 'dot1x', user: 'alice' }, 'test').ok).toBe(true);
        expect(c.edge.sessions.add({ mac: MAC.carol, switch: 'e1', port: 2, method: 'mab', user: 'carol' }, 'test').ok).toBe(true);
      },
    });
    ({ base } = lab);
    ({ page, errors } = await lab.signedIn(ADMIN));
  }, 60_000);

  afterAll(() => lab?.stop());

  it('API: directory devices and servers, sessions and matrix resources carry their IPv6 addresses', async () => {
    const d = await get<DirectoryReply>('directory');
    const dev = (id: string) => d.users.find((u) => u.id === id)!.devices[0];
    expect(dev('alice')).toMatchObject({ ip: '10.98.0.1', ipv6: [V6.alice] });
    expect(dev('alice').learnedIpv6).toBeUndefined();
    expect(dev('carol').ipv6).toBeUndefined();
    expect(dev('carol').learnedIpv6).toEqual([expect.objectContaining({ ip: V6.carol, source: 'nd', switch: 'e1', port: 2 })]);
    expect(d.servers).toEqual([expect.objectContaining({ name: 'web', ip: '10.98.2.10', ipv6: [V6.web] })]);
    const s = await get<SessionsReply>('sessions');
    const by = (mac: string) => s.sessions.find((x) => x.mac === mac)!;
    expect(by(MAC.alice).ipv6).toEqual([V6.alice]);
    expect(by(MAC.carol).ipv6).toEqual([V6.carol]);
    const m = await get<MatrixReply>('matrix');
    // dual-stack resources have a cell per family (the schema declares family: 6)
    expect(m.cells.filter((c) => c.subject === 'alice' && c.resource === 'web').map((c) => [c.family ?? 4, c.decision])).toEqual([
      [4, 'allow'],
      [6, 'allow'],
    ]);
    expect((await get<MatrixReply>('traffic/matrix')).cells.some((c) => c.family === 6)).toBe(true);
    const res = (n: string) => m.resources.find((r) => r.name === n)!;
    expect(res('web').addresses).toEqual(['10.98.2.10', V6.web]);
    expect(res('v6net').addresses).toEqual(['2001:db8:6c:9::/64']);
  });

  it('the directory page shows listed and learned IPv6 addresses (learned ones marked) and the servers’ IPv6', async () => {
    await openPage(page, base, 'directory');
    const row = async (id: string) => page.textContent(`#users tbody tr:has(th:text-is("${id}"))`);
    expect(await row('alice')).toContain(`10.98.0.1, ${V6.alice}`);
    expect(await row('carol')).toContain(`10.98.0.2, ${V6.carol} (DAD)`);
    expect(await page.getAttribute('#users .addr.learned', 'title')).toBe('learned by ND/DAD snooping on e1:2');
    expect(await page.textContent('#servers tbody')).toContain(`10.98.2.10, ${V6.web}`);
    await page.screenshot({ path: join(ARTIFACTS, 'directory-ipv6.png'), fullPage: true });
  });

  it('the sessions page shows each session’s IPv6 addresses', async () => {
    await openPage(page, base, 'sessions');
    await page.waitForFunction(() => document.querySelectorAll('#sessions tbody tr[data-id]').length === 2);
    const rows = await page.$$eval('#sessions tbody tr[data-id]', (rs) => rs.map((r) => r.textContent ?? ''));
    expect(rows.find((r) => r.includes(MAC.alice))).toContain(V6.alice);
    expect(rows.find((r) => r.includes(MAC.carol))).toContain(V6.carol);
    await page.screenshot({ path: join(ARTIFACTS, 'sessions-ipv6.png'), fullPage: true });
  });

  it('the access matrix names each resource’s IPv4 and IPv6 addresses', async () => {
    await openPage(page, base, 'matrix');
    await page.waitForSelector('#matrix thead th[title]');
    const titles = await page.$$eval('#matrix thead th[title]', (ths) => ths.map((t) => `${t.textContent}: ${t.getAttribute('title')}`));
    // a dual-stack resource gets a column per family; an IPv6-only one just its services
    expect(titles).toEqual([
      `webtcp/443 IPv4: 10.98.2.10, ${V6.web}`,
      `webtcp/443 IPv6: 10.98.2.10, ${V6.web}`,
      'v6netudp/53: 2001:db8:6c:9::/64',
    ]);
    const cell = (label: string) => page.textContent(`#matrix tbody tr:has(th:text-is("alice")) button[aria-label^="${label}"]`);
    expect(await cell('alice to web tcp/443 IPv6:')).toBe('allow');
    expect(await cell('alice to v6net udp/53:')).toBe('allow');
    // explaining an IPv6 cell asks about the resource's IPv6 address
    await page.click('#matrix tbody tr:has(th:text-is("alice")) button[aria-label^="alice to web tcp/443 IPv6:"]');
    await page.waitForFunction((a) => document.querySelector('#explain')?.textContent?.includes(a), V6.web);
    expect(await page.textContent('#explain')).toContain('ALLOW');
    await page.screenshot({ path: join(ARTIFACTS, 'matrix-ipv6.png'), fullPage: true });
    expect(errors).toEqual([]);
  });
});
