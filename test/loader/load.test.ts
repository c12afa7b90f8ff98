/** loadPolicy reports mistakes in the policy and across files together, in file order, and never produces a value. */
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile, decide, parseTopologyText } from '../../compiler/index.js';
import { loadPolicy } from '../../loader/index.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function basicCopy(): string {
  const d = mkdtempSync(join(tmpdir(), 'acl-load-'));
  dirs.push(d);
  cpSync(new URL('../../examples/basic', import.meta.url).pathname, d, { recursive: true });
  return d;
}

describe('loadPolicy', () => {
  it('a policy error does not hide cross-file errors (unknown organization, unknown server) or errors in other files', async () => {
    const d = basicCopy();
    const p = join(d, 'policy.yaml');
    writeFileSync(
      p,
      readFileSync(p, 'utf8')
        .replace('tcp/5432', 'tcp/70000')
        .replace('organizations: [finance]', 'organizations: [finanse]')
        .replace('hosts: [payroll-db]', 'hosts: [payroll-dbb]'),
    );
    const t = join(d, 'directory.yaml');
    writeFileSync(t, readFileSync(t, 'utf8').replace('ip: 10.0.1.3', 'ip: 10.0.1.300'));
    const r = await loadPolicy(p);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const codes = r.diagnostics.filter((x) => x.severity === 'error').map((x) => `${x.location?.file.split('/').pop()}:${x.code}`);
    expect(codes).toEqual(
      expect.arrayContaining([
        'policy.yaml:bad-service',
        'policy.yaml:unknown-organization',
        'policy.yaml:unknown-server',
        'directory.yaml:bad-address',
      ]),
    );
    expect(r.diagnostics.find((x) => x.code === 'unknown-organization')?.hint).toBe("did you mean 'finance'?");
    expect(r.diagnostics.find((x) => x.code === 'unknown-server')?.hint).toBe("did you mean 'payroll-db'?");
    // grouped by file, lines ascending within a file
    const order = r.diagnostics.map((x) => [x.location!.file, x.location!.line] as const);
    const files = [...new Set(order.map(([f]) => f))];
    expect(order.map(([f]) => f)).toEqual(files.flatMap((f) => order.filter(([g]) => g === f).map(([g]) => g)));
    for (const f of files) {
      const ls = order.filter(([g]) => g === f).map(([, l]) => l);
      expect(ls).toEqual([...ls].sort((a, b) => a - b));
    }
  });

  it('a switch marked exclusive: true carries it (the controller then removes foreign flows); a non-boolean is an error', () => {
    const ok = parseTopologyText('switches: [{ name: s1, dpid: 1, exclusive: true }, { name: s2, dpid: 2 }]\n', 't.yaml');
    expect(ok.ok && ok.value.switches.map((x) => x.exclusive)).toEqual([true, undefined]);
    const bad = parseTopologyText('switches:\n  - { name: s1, dpid: 1, exclusive: yes please }\n', 't.yaml');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.diagnostics[0]).toMatchObject({ code: 'type', location: { file: 't.yaml', line: 2 } });
  });

  it('opts.bindings are carried into the loaded value, so compile(loaded) places a learned device', async () => {
    const d = basicCopy();
    const t = join(d, 'topology.yaml');
    // alice is no longer pinned in the topology: without a learned binding she has no flows
    writeFileSync(t, readFileSync(t, 'utf8').replace(/^\s*- \{ mac: "02:00:00:00:01:01".*\n/m, ''));
    const plain = await loadPolicy(join(d, 'policy.yaml'));
    const learned = await loadPolicy(join(d, 'policy.yaml'), {
      bindings: [{ mac: '02:00:00:00:01:01', ip: '10.0.1.1', switch: 'edge1', port: 7 }],
    });
    if (!plain.ok || !learned.ok) throw new Error('load');
    const has = (c: ReturnType<typeof compile>) =>
      c.plan.switches.find((s) => s.name === 'edge1')!.flows.some((f) => f.match.some((e) => e.field === 'in_port' && e.value === 7));
    expect(has(compile(plain.value))).toBe(false);
    const c = compile(learned.value);
    expect(has(c)).toBe(true);
    expect(decide(c, 'alice', 'payroll-db', 'tcp/5432').decision).toBe('allow');
  });

  it('a clean copy loads', async () => {
    const d = basicCopy();
    const r = await loadPolicy(join(d, 'policy.yaml'));
    expect(r.ok).toBe(true);
  });
});
