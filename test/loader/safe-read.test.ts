/** Reading text files: ASCII takes a shortcut past UTF-8 decoding; everything else is decoded as UTF-8, as before. */
import { expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { safeReadText } from '../../io/safe-read.js';
import { tempDir } from '../helpers/tmp.js';

it('reads ASCII, UTF-8 and invalid UTF-8 exactly as a UTF-8 decode does', async () => {
  const dir = tempDir('safe-read');
  const cases: Buffer[] = [
    Buffer.from('version: 1\nname: plain ascii ~\n'),
    Buffer.from('users:\n  - { id: zoë, name: "Zoë Ünal 🌐" }\n'),
    Buffer.from([0x61, 0x3a, 0x20, 0xe9, 0x0a]), // a lone latin1 byte: not UTF-8
    Buffer.from([0x61, 0x7f, 0x80, 0x0a]),
  ];
  for (const [i, b] of cases.entries()) {
    const f = join(dir, `f${i}.yaml`);
    writeFileSync(f, b);
    const r = await safeReadText(f);
    expect(r.ok && r.text).toBe(b.toString('utf8'));
  }
});
