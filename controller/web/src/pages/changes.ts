/** Who gains and who loses, and flow changes per switch: the preview shared by apply, rollback and approval. */
import { html, plural, type Html } from '../dom.js';
import type { AccessChange, FlowCount } from '../../../api/contract.js';

export function accessSummary(access: readonly AccessChange[]): Html {
  const gains = access.filter((a) => a.change === 'gain').length;
  return html`<strong>${gains}</strong> gain access, <strong>${access.length - gains}</strong> lose access.`;
}

export function accessList(access: readonly AccessChange[], id?: string): Html {
  const gains = access.filter((a) => a.change === 'gain'),
    loses = access.filter((a) => a.change === 'lose');
  return html`<ul${id ? html` id="${id}"` : ''} class="access-changes">${gains.map((a) => html`<li class="gain">+ ${a.subject} → ${a.resource} ${a.service} <small>(${a.rule})</small></li>`)}${loses.map((a) => html`<li class="lose">− ${a.subject} → ${a.resource} ${a.service}</li>`)}</ul>`;
}

export function flowTable(flows: readonly FlowCount[]): Html {
  return html`<table><caption class="visually-hidden">Flow changes per switch</caption><thead><tr><th scope="col">Switch</th><th scope="col">Flows added</th><th scope="col">Flows removed</th><th scope="col">Unchanged</th></tr></thead><tbody>${flows.map((f) => html`<tr><th scope="row">${f.switch}</th><td>${f.added}</td><td>${f.removed}</td><td>${f.unchanged}</td></tr>`)}</tbody></table>`;
}

export const gainLose = (access: readonly AccessChange[]) => {
  const g = access.filter((a) => a.change === 'gain').length;
  return `${plural(g, 'gain')}, ${plural(access.length - g, 'loss', 'losses')}`;
};
