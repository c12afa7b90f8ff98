/**
 * The fixed ports the tests listen on. A fixed port inside the kernel's ephemeral range can be taken at any
 * moment by an outgoing connection (Open vSwitch, etcd, slapd clients...), and the test then fails with
 * EADDRINUSE although nothing is wrong: CI failed that way once (127.0.0.1:33400). Ports the tests fix must lie
 * below the range, and no two test files may share one (a child process of one file may outlive it briefly).
 * Tests that can take any port listen on port 0 and read the port back.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..');

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? (e.name === 'fixtures' ? [] : testFiles(join(dir, e.name))) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Listening ports a test source fixes: `const …PORT… = N` and `startEtcd(N`. */
export function fixedPorts(src: string): number[] {
  const found: number[] = [];
  for (const m of src.matchAll(/\b(?:const\s+\w*PORT\w*\s*=\s*|startEtcd\(\s*)(\d{2,5})\b/g)) found.push(Number(m[1]));
  return found;
}

function ephemeralLow(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return 32768; // Linux's default
  }
}

describe('ports the tests listen on', () => {
  it('finds the fixed ports of a source', () => {
    expect(fixedPorts('const OF_PORT = 26410;\nconst API_PORT=26411\n etcd = await startEtcd(26702, "x");\nconst n = 40000;')).toEqual([
      26410, 26411, 26702,
    ]);
  });

  it('are below the ephemeral range and not shared between test files', () => {
    const low = Math.min(ephemeralLow(), 32768);
    const owner = new Map<number, string>();
    const problems: string[] = [];
    const files = testFiles(join(ROOT, 'test'));
    expect(files.length).toBeGreaterThan(100);
    let seen = 0;
    for (const file of files) {
      const name = relative(ROOT, file);
      if (file === import.meta.filename) continue; // its own examples
      for (const port of new Set(fixedPorts(readFileSync(file, 'utf8')))) {
        seen++;
        if (port >= low) problems.push(`${name}: port ${port} is in the ephemeral range (from ${low})`);
        const other = owner.get(port);
        if (other && other !== name) problems.push(`${name}: port ${port} is also used by ${other}`);
        owner.set(port, name);
      }
    }
    expect(seen).toBeGreaterThan(10);
    expect(problems).toEqual([]);
  });
});
