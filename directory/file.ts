/** A directory kept in a YAML file (`directory: { file: directory.yaml }`), re-read on every load. */
import { readTextFile } from '../io/safe-read.js';
import type { DirectorySource } from '../compiler/model.js';
import { parseDirectoryText } from '../compiler/inputs.js';
import { formatDiagnostic } from '../compiler/diagnostics.js';

export function fileDirectorySource(path: string): DirectorySource {
  return {
    kind: 'file',
    description: path,
    async load() {
      const r = parseDirectoryText(await readTextFile(path), path);
      if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
      return r.value;
    },
  };
}
