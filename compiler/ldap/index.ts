/**
 * LDAP directory adapter (contract stub; the LDAP work replaces the bodies).
 * The policy loader calls these for a `directory: { ldap: ... }` block.
 */
import type { Diagnostic, DirectorySource, SourceLocation } from '../model.js';

/** Validates the raw `ldap:` block of a policy. `locate(path)` gives the source location of a key path. */
export function validateLdapConfig(
  raw: unknown,
  locate: (path: readonly (string | number)[]) => SourceLocation | undefined,
): Diagnostic[] {
  void raw; void locate;
  return [];
}

/** Creates a directory source for a validated `ldap:` block; relative file paths resolve against baseDir. */
export function createLdapDirectorySource(raw: unknown, baseDir: string): DirectorySource {
  void raw; void baseDir;
  throw new Error('LDAP directories are not implemented yet');
}
