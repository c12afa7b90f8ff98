export { loadPolicy } from './load.js';
export type { LoadedPolicy, LoadResult, LoadOptions } from './load.js';
export { fileDirectorySource } from '../directory/file.js';
export { formatDiagnostic } from '../compiler/diagnostics.js';
