/** Directory: users (with where their devices were seen), organizations, servers. */
import { html, join, render, type Html } from '../dom.js';
import { errorText, get } from '../api.js';
import type { DirectoryReply } from '../../../api/contract.js';

type Device = DirectoryReply['users'][number]['devices'][number];

/** A device's addresses: IPv4 and IPv6 from the directory, then IPv6 learned by the controller (marked, with how). */
function addresses(x: Device): Html {
  const listed = [x.ip, ...(x.ipv6 ?? [])].filter((a): a is string => !!a).map((a) => html`<span class="addr">${a}</span>`);
  const learned = (x.learnedIpv6 ?? []).map(
    (l) =>
      html`<span class="addr learned" title="learned by ${l.source === 'nd' ? 'ND/DAD snooping' : 'DHCPv6 snooping'} on ${l.switch}:${l.port}">${l.ip} (${l.source === 'nd' ? 'DAD' : 'DHCPv6'})</span>`,
  );
  return join([...listed, ...learned], ', ');
}

export async function loadDirectory(): Promise<void> {
  const r = await get('/api/v1/directory');
  if (!r.ok) {
    render('#dir-source', html`<span class="bad">${errorText(r)}</span>`);
    return;
  }
  const d = r.body;
  render('#dir-source', html`Source: <code>${d.source}</code> · ${d.users.length} users · roles: ${d.roles.join(', ')}`);
  render(
    '#users tbody',
    join(
      d.users.map(
        (u) => html`<tr><th scope="row">${u.id}</th><td>${u.name}</td><td>${u.organization ?? '–'}</td><td>${u.roles.join(', ')}</td>
    <td>${join(
      u.devices.map(
        (x) =>
          html`<code>${x.mac}</code> ${addresses(x)} — ${x.switch ? `${x.switch}:${x.port}${x.learned ? ' (learned)' : ''}` : 'not seen yet'}`,
      ),
      html`<br>`,
    )}</td></tr>`,
      ),
    ),
  );
  const byParent = new Map<string, string[]>();
  for (const o of d.organizations) byParent.set(o.parent ?? '', [...(byParent.get(o.parent ?? '') ?? []), o.name]);
  const tree = (p: string, depth = 0): Html =>
    join(
      (byParent.get(p) ?? []).map((n) => html`<li>${n}${byParent.has(n) && depth < 64 ? html`<ul>${tree(n, depth + 1)}</ul>` : ''}</li>`),
    );
  render('#orgs', tree(''));
  render(
    '#servers tbody',
    join(
      d.servers.map(
        (s) =>
          html`<tr><th scope="row">${s.name}</th><td>${join(
            [s.ip, ...(s.ipv6 ?? [])].map((a) => html`<span class="addr">${a}</span>`),
            ', ',
          )} <code>${s.mac}</code></td><td>${s.switch}:${s.port}</td></tr>`,
      ),
    ),
  );
}
