/**
 * A cluster node validates a change (preview) before committing it through etcd and then applies the committed
 * version: the second step reuses the preview's compile when nothing changed in between, and compiles again when
 * something did (a binding, another change, a different text).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Controller } from '../../controller/controller.js';
import { explain } from '../../compiler/query.js';
import { copyExample } from '../helpers/tmp.js';

const calls = vi.hoisted(() => ({ recompile: 0 }));
vi.mock('../../compiler/compile.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../compiler/compile.js')>();
  return {
    ...m,
    recompile: (...a: Parameters<typeof m.recompile>) => {
      calls.recompile++;
      return m.recompile(...a);
    },
  };
});

describe('preview then committed apply', () => {
  let dir: string;
  let ctl: Controller;
  let text: string;
  beforeAll(async () => {
    dir = copyExample('basic');
    text = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    ctl = new Controller({ policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 } });
    await ctl.load();
  });
  afterAll(async () => {
    await ctl.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('compiles once when the committed text is the previewed one and the plan did not move', async () => {
    const less = text.replace(/  - \{ name: staff-intranet.*\n/, '');
    calls.recompile = 0;
    const preview = await ctl.applyPolicy(less, { dryRun: true, committed: true });
    expect(preview.ok).toBe(true);
    expect(calls.recompile).toBe(1);
    const applied = await ctl.applyPolicy(less, { committed: true, version: 2 });
    expect(applied.ok).toBe(true);
    expect(calls.recompile).toBe(1);
    expect(applied.access).toEqual(preview.access);
    expect(ctl.version).toBe(2);
    expect(explain(ctl.compiled, 'bob', 'intranet', 'tcp/80').decision).toBe('deny');
  });

  it('compiles again when another change landed in between, or the text differs', async () => {
    calls.recompile = 0;
    await ctl.applyPolicy(text, { dryRun: true, committed: true });
    await ctl.applyPolicy(text.replace('default: deny', 'default: deny # other'), { committed: true, version: 3 });
    expect(calls.recompile).toBe(2);
    await ctl.applyPolicy(text, { committed: true, version: 4 });
    expect(calls.recompile).toBe(3);
    expect(explain(ctl.compiled, 'bob', 'intranet', 'tcp/80').decision).toBe('allow');
  });
});
