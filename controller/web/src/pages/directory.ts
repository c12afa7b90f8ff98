/** Directory: users (with where their devices were seen), organizations, servers. */
import { html, join, render, type Html } from '../dom.js';
import { api, errorText } from '../api.js';
import type { DirectoryReply } from '../types.js';

export async function loadDirectory(): Promise<void> {
  const r = await api<DirectoryReply>('directory');
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
          html`<code>${x.mac}</code> ${x.ip ?? ''} — ${x.switch ? `${x.switch}:${x.port}${x.learned ? ' (learned)' : ''}` : 'not seen yet'}`,
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
        (s) => html`<tr><th scope="row">${s.name}</th><td>${s.ip} <code>${s.mac}</code></td><td>${s.switch}:${s.port}</td></tr>`,
      ),
    ),
  );
}
