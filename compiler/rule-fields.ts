/** YAML readers for fields of a rule (and a resource's services), with their diagnostics. Pure. */
import { parseService, type Service } from './addr.js';
import type { YamlSource, Path } from './yaml-source.js';

/** A list of services (`tcp/443`, `udp/5000-5100`, `icmp`, `any`), each bad entry reported at its place. */
export function services(src: YamlSource, path: Path, v: unknown): Service[] {
  const out: Service[] = [];
  src.strings(path, v, 'services').forEach((s, i) => {
    const r = parseService(s);
    if ('error' in r) src.error([...path, i], 'bad-service', r.error);
    else out.push(r);
  });
  return out;
}

/** A rule's `mode`: `enforce` (the default) or `monitor`, which only a deny rule can have. */
export function ruleMode(src: YamlSource, p: Path, v: unknown, action: unknown): { mode?: 'monitor' } {
  if (v === undefined || v === 'enforce') return {};
  if (v !== 'monitor') {
    src.error([...p, 'mode'], 'bad-mode', `mode must be enforce or monitor (found '${String(v)}')`);
    return {};
  }
  if (action !== 'deny')
    src.error([...p, 'mode'], 'bad-mode', 'mode: monitor is for deny rules (it logs what the rule would deny while traffic still passes)');
  return { mode: 'monitor' };
}
