/**
 * The keys each mapping of the input files may have: what the parsers accept (anything else is an unknown-key
 * error with a suggestion) and what the JSON Schemas in schema/ list as properties — test/compiler/schema-keys.test.ts
 * fails when the two differ, so a new key is added here and in the schema together.
 */
import { FIRST_CONTACT_KEYS } from './first-contact.js';
import { RULE_TIME_KEYS } from './schedule.js';

export const POLICY_KEYS = {
  top: ['version', 'directory', 'topology', 'resources', 'rules', 'default', 'description', 'authentication', ...FIRST_CONTACT_KEYS],
  resource: ['hosts', 'services', 'description'],
  rule: ['name', 'from', 'to', 'action', 'mode', 'services', 'description', ...RULE_TIME_KEYS],
  selector: ['organizations', 'roles', 'users', 'resources'],
} as const;

export const DIRECTORY_KEYS = {
  top: ['organizations', 'users', 'roles'],
  organization: ['name', 'children', 'description'],
  user: ['id', 'name', 'organization', 'roles', 'devices', 'email'],
  device: ['mac', 'ip', 'ipv6', 'name'],
} as const;

export const TOPOLOGY_KEYS = {
  top: ['switches', 'links', 'hosts', 'servers', 'routers', 'dhcpv6'],
  switch: ['name', 'dpid', 'kind', 'exclusive', 'profile', 'tables', 'conntrack_zone', 'description'],
  host: ['mac', 'ip', 'ipv6', 'switch', 'port', 'name'],
  server: ['name', 'mac', 'ip', 'ipv6', 'switch', 'port', 'description'],
} as const;
