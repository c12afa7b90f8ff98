/**
 * The keys the parsers accept (compiler/input-keys.ts, the source) are exactly the properties the JSON Schemas
 * for editors list, mapping by mapping: a key added to one and not the other fails here.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { DIRECTORY_KEYS, POLICY_KEYS, TOPOLOGY_KEYS } from '../../compiler/input-keys.js';

type Json = {
  properties?: Record<string, Json>;
  items?: Json;
  additionalProperties?: Json | boolean;
  oneOf?: Json[];
  $ref?: string;
  $defs?: Record<string, Json>;
};
const root = new URL('../../', import.meta.url).pathname;
const load = (n: string) => JSON.parse(readFileSync(`${root}schema/${n}.schema.json`, 'utf8')) as Json;
const keys = (s: Json | undefined) => Object.keys(s?.properties ?? {}).sort();
const sorted = (xs: readonly string[]) => [...xs].sort();

describe('the JSON Schemas list the keys the parsers accept', () => {
  it('policy: top level, resources, rules, selectors', () => {
    const s = load('policy');
    expect(keys(s)).toEqual(sorted(POLICY_KEYS.top));
    expect(keys(s.properties!.resources.additionalProperties as Json)).toEqual(sorted(POLICY_KEYS.resource));
    expect(keys(s.properties!.rules.items)).toEqual(sorted(POLICY_KEYS.rule));
    expect(keys(s.$defs!.selector)).toEqual(sorted(POLICY_KEYS.selector));
  });
  it('directory: top level, organizations, users, devices', () => {
    const s = load('directory');
    expect(keys(s)).toEqual(sorted(DIRECTORY_KEYS.top));
    expect(keys(s.$defs!.org.oneOf!.find((o) => o.properties))).toEqual(sorted(DIRECTORY_KEYS.organization));
    expect(keys(s.properties!.users.items)).toEqual(sorted(DIRECTORY_KEYS.user));
    expect(keys(s.properties!.users.items!.properties!.devices.items)).toEqual(sorted(DIRECTORY_KEYS.device));
  });
  it('topology: top level, switches, hosts, servers', () => {
    const s = load('topology');
    expect(keys(s)).toEqual(sorted(TOPOLOGY_KEYS.top));
    expect(keys(s.properties!.switches.items)).toEqual(sorted(TOPOLOGY_KEYS.switch));
    expect(keys(s.properties!.hosts.items)).toEqual(sorted(TOPOLOGY_KEYS.host));
    expect(keys(s.properties!.servers.items)).toEqual(sorted(TOPOLOGY_KEYS.server));
  });
});
