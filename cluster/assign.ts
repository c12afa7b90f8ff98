/**
 * Which node masters which switch: rendezvous (highest-random-weight) hashing over the live nodes. Every node
 * computes the same answer from the same node set, and when a node comes or goes only the switches it gains or
 * loses move (about 1/N of them). Pure.
 */

/** 64-bit FNV-1a of a string, as a bigint (stable across processes and platforms). */
export function fnv1a64(s: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < s.length; i++) {
    h ^= BigInt(s.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

const M64 = 0xffffffffffffffffn;
/** MurmurHash3's 64-bit finalizer: FNV alone barely separates strings that differ in their last characters. */
function fmix64(k: bigint): bigint {
  k ^= k >> 33n;
  k = (k * 0xff51afd7ed558ccdn) & M64;
  k ^= k >> 33n;
  k = (k * 0xc4ceb9fe1a85ec53n) & M64;
  return k ^ (k >> 33n);
}

/** The live node that should master `dpid`, or undefined when no node is live. Ties break by node name. */
export function ownerOf(dpid: string, nodes: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestW = -1n;
  for (const n of nodes) {
    const w = fmix64(fnv1a64(`${dpid}\u0000${n}`));
    if (w > bestW || (w === bestW && best !== undefined && n < best)) {
      best = n;
      bestW = w;
    }
  }
  return best;
}

/** dpid → owning node for every switch. */
export function assignAll(dpids: Iterable<string>, nodes: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of dpids) {
    const o = ownerOf(d, nodes);
    if (o !== undefined) out.set(d, o);
  }
  return out;
}
