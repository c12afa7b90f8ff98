/**
 * Reading a file a policy names, safely: only regular files, optionally only under allowed roots (after resolving
 * every symlink), with a size and a read-time limit. Opened with O_NONBLOCK and checked with fstat before any read,
 * so a FIFO, a device (/dev/zero) or a directory never blocks the caller nor costs memory.
 *
 * Failures are values: `code` says what went wrong; `message` never contains the file's content. With roots,
 * a path outside them (or a symlink leading out) and a path that does not exist get the same answer, so the API
 * does not reveal what exists elsewhere on the machine.
 */
import { isAscii } from 'node:buffer';
import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';

export interface SafeReadOptions {
  /** When set, the file must resolve (realpath) to a path under one of these folders. */
  readonly roots?: readonly string[];
  /** Largest file accepted (bytes). Default 16 MiB. */
  readonly maxBytes?: number;
  /** Longest time a read may take (ms). Default 5 s. */
  readonly timeoutMs?: number;
}

export type SafeReadCode = 'not-found' | 'not-allowed' | 'is-directory' | 'not-regular' | 'too-large' | 'timeout' | 'not-text' | 'io';
export type SafeReadResult = { ok: true; text: string; path: string } | { ok: false; code: SafeReadCode; message: string };

export const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 5_000;

/** True when `p` is `root` or inside it (both absolute, already resolved). */
export function isUnder(p: string, root: string): boolean {
  const r = relative(root, p);
  return r === '' || (!r.startsWith('..' + sep) && r !== '..' && !isAbsolute(r));
}

async function realRoots(roots: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const r of roots) {
    try {
      out.push(await realpath(resolve(r)));
    } catch {
      /* a missing root allows nothing */
    }
  }
  return out;
}

function fail(code: SafeReadCode, message: string): SafeReadResult {
  return { ok: false, code, message };
}

/** Reads `file` (resolved against the process cwd if relative) as UTF-8 text, within the limits of `opts`. */
export async function safeReadText(file: string, opts: SafeReadOptions = {}): Promise<SafeReadResult> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const abs = resolve(file);
  if (abs.includes('\0')) return fail('not-allowed', 'the path contains a NUL character');
  const notAllowed = () => fail('not-allowed', `not an existing regular file under the allowed folders (${(opts.roots ?? []).join(', ')})`);
  let real: string;
  if (opts.roots) {
    const roots = await realRoots(opts.roots);
    // the lexical check first: a path outside every root is refused without touching the file system
    if (!roots.some((r) => isUnder(abs, r)) && !opts.roots.some((r) => isUnder(abs, resolve(r)))) return notAllowed();
    try {
      real = await realpath(abs);
    } catch {
      return notAllowed();
    }
    if (!roots.some((r) => isUnder(real, r))) return notAllowed();
  } else {
    try {
      real = await realpath(abs);
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR'
        ? fail('not-found', 'file not found')
        : fail('io', `cannot open (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  let fh;
  try {
    // O_NONBLOCK: opening a FIFO with no writer returns at once (it is then refused by fstat); O_NOFOLLOW: the
    // path was resolved above, a symlink swapped in since then is refused.
    fh = await open(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (opts.roots) return notAllowed();
    if (code === 'ENOENT') return fail('not-found', 'file not found');
    return fail('io', `cannot open (${code ?? 'error'})`);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) return fail('is-directory', 'is a directory, not a file');
    if (!st.isFile())
      return fail(
        'not-regular',
        `is not a regular file (${st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket' : 'special file'})`,
      );
    if (st.size > maxBytes) return fail('too-large', `is ${st.size} bytes, more than the limit of ${maxBytes}`);
    // Read at most maxBytes + 1 (the file may grow after fstat), within the time limit.
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((res) => {
      timer = setTimeout(() => res('timeout'), timeoutMs);
    });
    const reading = (async () => {
      let n = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
        if (!bytesRead) break;
        n += bytesRead;
        if (n >= buf.length) break;
      }
      return n;
    })();
    const n = await Promise.race([reading, timeout]).finally(() => clearTimeout(timer));
    if (n === 'timeout') {
      reading.catch(() => undefined);
      return fail('timeout', `reading took longer than ${timeoutMs} ms`);
    }
    if (n > maxBytes) return fail('too-large', `is more than the limit of ${maxBytes} bytes`);
    const bytes = buf.subarray(0, n);
    if (bytes.includes(0)) return fail('not-text', 'is not a text file (it contains NUL bytes)');
    // plain ASCII (most policies): read as latin1, the same string without UTF-8 decoding
    return { ok: true, text: isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8'), path: real };
  } catch (e) {
    return fail('io', `cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Node's readFile-like wrapper: throws an Error with `code` (ENOENT, EISDIR, EFBIG, EACCES, …) and a content-free message. */
export async function readTextFile(file: string, opts: SafeReadOptions = {}): Promise<string> {
  const r = await safeReadText(file, opts);
  if (r.ok) return r.text;
  const errno: Record<SafeReadCode, string> = {
    'not-found': 'ENOENT',
    'not-allowed': 'EACCES',
    'is-directory': 'EISDIR',
    'not-regular': 'EINVAL',
    'too-large': 'EFBIG',
    timeout: 'ETIMEDOUT',
    'not-text': 'EINVAL',
    io: 'EIO',
  };
  throw Object.assign(new Error(r.message), { code: errno[r.code], reason: r.code });
}
