/** The JSON Schemas shipped for editors accept the examples and reject what the compiler rejects. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';

const root = new URL('../../', import.meta.url).pathname;
const ajv = new (Ajv2020 as unknown as typeof Ajv2020.default)({ allErrors: true, strict: false });
// editors (e.g. the YAML language server) know format ipv4; ajv needs it declared
ajv.addFormat('ipv4', /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/);
const compiled = new Map<string, ReturnType<typeof ajv.compile>>();
const schema = (n: string) =>
  compiled.get(n) ?? compiled.set(n, ajv.compile(JSON.parse(readFileSync(`${root}schema/${n}.schema.json`, 'utf8')))).get(n)!;

describe('JSON Schemas for editors', () => {
  it('accept every example file', () => {
    const policy = schema('policy'),
      directory = schema('directory'),
      topology = schema('topology');
    for (const ex of ['basic', 'campus']) {
      expect(policy(parse(readFileSync(`${root}examples/${ex}/policy.yaml`, 'utf8'))), JSON.stringify(policy.errors)).toBe(true);
      expect(directory(parse(readFileSync(`${root}examples/${ex}/directory.yaml`, 'utf8'))), JSON.stringify(directory.errors)).toBe(true);
      expect(topology(parse(readFileSync(`${root}examples/${ex}/topology.yaml`, 'utf8'))), JSON.stringify(topology.errors)).toBe(true);
    }
    expect(policy(parse(readFileSync(`${root}examples/campus/policy-ldap.yaml`, 'utf8'))), JSON.stringify(policy.errors)).toBe(true);
  });
  it('reject unknown keys, bad services and inline passwords', () => {
    const policy = schema('policy');
    expect(policy({ version: 1, directory: 'd', topology: 't', colour: 'blue' })).toBe(false);
    expect(policy({ version: 1, directory: 'd', topology: 't', resources: { a: { hosts: ['x'], services: ['tcp/abc'] } } })).toBe(false);
    const directory = schema('directory');
    expect(directory({ users: [{ id: 'a', devices: [{ mac: '02:00:00:00:00:01', ip: '10.0.1.1' }] }] })).toBe(true);
    expect(directory({ users: [{ id: 'a', devices: [{ mac: '02:00:00:00:00:01', ip: '10.0.1.300' }] }] })).toBe(false);
    expect(policy({ version: 1, directory: { ldap: { url: 'ldap://x', baseDn: 'dc=x', password: 'p' } }, topology: 't' })).toBe(false);
  });
});
