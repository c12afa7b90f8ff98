/**
 * Loading a policy and the files it names (paths relative to the policy file): the thin I/O layer the CLI and the
 * controller call before handing plain values to the pure compiler. It reads files and chooses the directory source
 * (a directory.yaml file or LDAP, see directory/); parsing and checking stay in compiler/inputs.ts.
 */
import { dirname, resolve } from 'node:path';
import { readTextFile } from '../io/safe-read.js';
import type { Binding, Diagnostic, Directory, DirectorySource, Topology } from '../compiler/model.js';
import { parseDirectoryText, parsePolicyText, parseTopologyText, type Policy } from '../compiler/inputs.js';
import { crossCheck } from '../compiler/cross-check.js';
import { fileDirectorySource } from '../directory/file.js';

export interface LoadedPolicy {
  readonly policy: Policy;
  readonly directory: Directory;
  readonly topology: Topology;
  readonly directorySource: DirectorySource;
  readonly paths: { readonly policy: string; readonly directory?: string; readonly topology: string };
  readonly policyText: string;
  /** Host bindings learned by the controller (opts.bindings), so `compile(loaded)` places those devices too. */
  readonly bindings?: readonly Binding[];
}

export type LoadResult = { ok: true; value: LoadedPolicy; warnings: Diagnostic[] } | { ok: false; diagnostics: Diagnostic[] };

function fileError(file: string, e: unknown, what: string): Diagnostic {
  return { severity: 'error', code: 'file', message: `${what} file ${whyNot(e)}`, location: { file, line: 1, column: 1 } };
}

/** Why a file could not be read, by error code (never the file's content): not found, a directory, too large, … */
function whyNot(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR'
    ? 'not found'
    : code === 'EISDIR'
      ? 'is a directory'
      : code === 'EFBIG'
        ? `is too large (${(e as Error).message})`
        : `cannot be read: ${(e as Error).message}`;
}

export interface LoadOptions {
  /** Use this directory snapshot instead of loading (the controller passes the synced one). */
  readonly directory?: Directory;
  /** Policy text to use instead of reading the policy file (for previews of unsaved edits). */
  readonly policyText?: string;
  /** Learned host bindings to carry into the loaded value (used by `compile(loaded)`). */
  readonly bindings?: readonly Binding[];
  /** Reads a file the policy names (directory, topology); the controller passes a guarded reader for API input. */
  readonly readFile?: (path: string) => Promise<string>;
}

export async function loadPolicy(policyPath: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const path = resolve(policyPath);
  const base = dirname(path);
  let text: string;
  try {
    text = opts.policyText ?? (await readTextFile(path));
  } catch (e) {
    return { ok: false, diagnostics: [fileError(path, e, 'policy')] };
  }
  const pr = parsePolicyText(text, policyPath);
  // A policy with errors is still read as far as possible, so the directory and topology are checked too and
  // every mistake is reported at once; the result is then a failure whatever else happens.
  if (!pr.ok && !pr.partial) return { ok: false, diagnostics: pr.diagnostics };
  const policy = pr.ok ? pr.value : pr.partial!;
  const diags: Diagnostic[] = pr.ok ? [...pr.warnings] : [...pr.diagnostics];

  const read = opts.readFile ?? ((p: string) => readTextFile(p));
  const topoPath = resolve(base, policy.topology.path);
  let topology: Topology | undefined;
  try {
    const tr = parseTopologyText(await read(topoPath), topoPath);
    if (tr.ok) {
      topology = tr.value;
      diags.push(...tr.warnings);
    } else {
      topology = tr.partial;
      diags.push(...tr.diagnostics);
    }
  } catch (e) {
    diags.push({
      ...fileError(topoPath, e, 'topology'),
      location: policy.topology.location,
      message: `topology file '${policy.topology.path}' ${whyNot(e)} (looked at ${topoPath})`,
    });
  }

  let source: DirectorySource | undefined;
  let directory: Directory | undefined = opts.directory;
  let dirPath: string | undefined;
  if (policy.directory.kind === 'file') {
    dirPath = resolve(base, policy.directory.path);
    source = fileDirectorySource(dirPath);
    if (!directory) {
      try {
        const dr = parseDirectoryText(await read(dirPath), dirPath);
        if (dr.ok) {
          directory = dr.value;
          diags.push(...dr.warnings);
        } else {
          directory = dr.partial;
          diags.push(...dr.diagnostics);
        }
      } catch (e) {
        diags.push({
          ...fileError(dirPath, e, 'directory'),
          location: policy.directory.location,
          message: `directory file '${policy.directory.path}' ${whyNot(e)} (looked at ${dirPath})`,
        });
      }
    }
  } else {
    const raw = policy.directory.raw;
    // the LDAP client is loaded only for policies that use it (it is not free at start-up)
    const { createLdapDirectorySource, validateLdapConfig } = await import('../directory/ldap.js');
    const ld = validateLdapConfig(raw, (p) => policy.source.locate(['directory', 'ldap', ...p]));
    diags.push(...ld);
    if (!ld.some((d) => d.severity === 'error')) {
      try {
        source = createLdapDirectorySource(raw, base);
        // Not with a policy that has errors: it will not be compiled, and a directory server may be slow.
        if (!directory && pr.ok) directory = await source.load();
      } catch (e) {
        diags.push({ severity: 'error', code: 'ldap', message: (e as Error).message, location: policy.directory.location });
      }
    }
  }
  if (directory && topology) {
    try {
      diags.push(...crossCheck(policy, directory, topology));
    } catch (e) {
      // Only reachable with partial inputs that already carry errors; fail closed with what we have.
      if (!diags.some((d) => d.severity === 'error'))
        diags.push({
          severity: 'error',
          code: 'internal',
          message: `cross-file check failed: ${(e as Error).message}`,
          location: policy.directory.location,
        });
    }
  }
  if (!pr.ok || diags.some((d) => d.severity === 'error') || !directory || !topology || !source)
    return { ok: false, diagnostics: inFileOrder(diags) };
  return {
    ok: true,
    value: {
      policy,
      directory,
      topology,
      directorySource: source,
      paths: { policy: path, directory: dirPath, topology: topoPath },
      policyText: text,
      ...(opts.bindings ? { bindings: opts.bindings } : {}),
    },
    warnings: diags,
  };
}

/** Diagnostics grouped by file (in the order files were first mentioned), then by line and column. */
function inFileOrder(diags: readonly Diagnostic[]): Diagnostic[] {
  const rank = new Map<string, number>();
  for (const d of diags) if (d.location && !rank.has(d.location.file)) rank.set(d.location.file, rank.size);
  const key = (d: Diagnostic) => (d.location ? [rank.get(d.location.file)!, d.location.line, d.location.column] : [-1, 0, 0]);
  return diags
    .map((d, i) => ({ d, i, k: key(d) }))
    .sort((a, b) => a.k[0] - b.k[0] || a.k[1] - b.k[1] || a.k[2] - b.k[2] || a.i - b.i)
    .map((x) => x.d);
}
