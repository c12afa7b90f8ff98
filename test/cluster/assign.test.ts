import { describe, expect, it } from 'vitest';
import { assignAll, ownerOf } from '../../cluster/assign.js';
import { parseEtcdUrl } from '../../cluster/etcd.js';

const dpids = Array.from({ length: 1000 }, (_, i) => `0x${(i + 1).toString(16).padStart(16, '0')}`);

describe('mastership assignment (rendezvous hashing)', () => {
  it('every switch gets exactly one owner, spread evenly, the same on every node whatever the order', () => {
    const a = assignAll(dpids, ['n1', 'n2', 'n3']);
    const b = assignAll(dpids, ['n3', 'n1', 'n2']);
    expect([...a]).toEqual([...b]);
    const count = new Map<string, number>();
    for (const o of a.values()) count.set(o, (count.get(o) ?? 0) + 1);
    expect(count.size).toBe(3);
    for (const c of count.values()) expect(c).toBeGreaterThan(250);
  });
  it('a node leaving moves only its own switches; a node joining takes about 1/N from the others', () => {
    const three = assignAll(dpids, ['n1', 'n2', 'n3']);
    const two = assignAll(dpids, ['n1', 'n3']);
    for (const d of dpids) if (three.get(d) !== 'n2') expect(two.get(d)).toBe(three.get(d));
    const four = assignAll(dpids, ['n1', 'n2', 'n3', 'n4']);
    const moved = dpids.filter((d) => four.get(d) !== three.get(d));
    expect(moved.every((d) => four.get(d) === 'n4')).toBe(true);
    expect(moved.length).toBeGreaterThan(150);
    expect(moved.length).toBeLessThan(350);
  });
  it('no live node: no owner', () => {
    expect(ownerOf(dpids[0], [])).toBeUndefined();
  });
});

describe('cluster URL', () => {
  it('accepts etcd:// and etcds:// lists', () => {
    expect(parseEtcdUrl('etcd://127.0.0.1:2379')).toEqual({ tls: false, hosts: ['http://127.0.0.1:2379'] });
    expect(parseEtcdUrl('etcds://a.example:2379,b.example:2379')).toEqual({
      tls: true,
      hosts: ['https://a.example:2379', 'https://b.example:2379'],
    });
    expect(parseEtcdUrl('etcd://[::1]:2379').hosts).toEqual(['http://[::1]:2379']);
  });
  it('refuses anything else with a clear message', () => {
    for (const bad of ['http://x:1', 'etcd://', 'etcd://host', 'etcd://h:0', 'etcd://h:70000', 'etcd://h:1/path', 'etcd://us er@h:1']) {
      expect(() => parseEtcdUrl(bad), bad).toThrow(/cluster URL|endpoint|port/);
    }
  });
});
