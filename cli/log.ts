/**
 * The controller's log: pino JSON lines for machines (journald, files, log shippers), or human-readable lines on a
 * terminal (pino-pretty, loaded only when used). `--log-format` chooses; the default follows whether stdout is a TTY.
 */
import pino, { type Logger } from 'pino';

export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** pretty when stdout is a terminal, JSON lines otherwise (piped, redirected, under systemd). */
export function defaultLogFormat(stdout: { readonly isTTY?: boolean }): LogFormat {
  return stdout.isTTY ? 'pretty' : 'json';
}

/**
 * A logger writing `format` to `dest` (default: stdout). Pretty output is colored only when `dest` is a terminal,
 * and written synchronously, so lines logged just before the process exits are not lost.
 */
export async function createLogger(format: LogFormat, dest: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout): Promise<Logger> {
  const options = { name: 'sdn-acl' };
  if (format === 'json') return dest === process.stdout ? pino(options) : pino(options, dest);
  const { default: pretty } = await import('pino-pretty');
  return pino(
    options,
    pretty({ destination: dest, colorize: !!dest.isTTY, sync: true, ignore: 'pid,hostname', translateTime: 'SYS:standard' }),
  );
}
