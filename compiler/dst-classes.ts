/** A leaf module (no imports): the compiler's stages, lint and the time-bound flows all read it. */

/**
 * The destination classes each resource lies in, from lists of destination entries (every entry of one class names
 * the same resources); each resource's classes in the order of the classes' first entries.
 */
export function dstClassesOfResources(
  lists: ReadonlyArray<ReadonlyArray<{ readonly resources: readonly string[]; readonly dstClass: number }>>,
): Map<string, number[]> {
  const resourcesOf = new Map<number, readonly string[]>();
  for (const list of lists) for (const d of list) if (d.dstClass && !resourcesOf.has(d.dstClass)) resourcesOf.set(d.dstClass, d.resources);
  const out = new Map<string, number[]>();
  for (const [dc, rs] of resourcesOf)
    for (const r of rs) {
      const l = out.get(r);
      if (l) l.push(dc);
      else out.set(r, [dc]);
    }
  return out;
}
