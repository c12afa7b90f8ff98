/**
 * LDAP directory adapter. The policy loader calls these for a `directory: { ldap: ... }` block.
 */
import type { Diagnostic, DirectorySource, SourceLocation } from '../compiler/model.js';
import { readLdapConfig } from './ldap-config.js';
import { LdapDirectorySource } from './ldap-source.js';

export { readLdapConfig, escapeFilterValue, parseDuration } from './ldap-config.js';
export type { LdapConfig } from './ldap-config.js';
export { LdapDirectorySource } from './ldap-source.js';
export { DirectorySync } from './sync.js';
export type { SyncOptions, SyncStatus, SyncTimers, PushHandlers, PushSession, PushSource } from './sync.js';

/** Validates the raw `ldap:` block of a policy. `locate(path)` gives the source location of a key path. */
export function validateLdapConfig(raw: unknown, locate: (path: readonly (string | number)[]) => SourceLocation | undefined): Diagnostic[] {
  return readLdapConfig(raw, locate).diagnostics;
}

/** Creates a directory source for a validated `ldap:` block; relative file paths resolve against baseDir. */
export function createLdapDirectorySource(raw: unknown, baseDir: string): DirectorySource {
  const { config, diagnostics } = readLdapConfig(raw, () => undefined);
  if (!config) throw new Error(diagnostics.map((d) => d.message).join('; '));
  return new LdapDirectorySource(config, baseDir);
}
