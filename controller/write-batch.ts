/**
 * Writes to one socket gathered per event-loop turn: everything written while the loop handles one round of I/O
 * (the PACKET_OUTs a login storm's packet-ins and RADIUS answers cause, a sync's FLOW_MODs) leaves in one
 * `write`, so one system call and one wake-up of the peer instead of one per message. Order is kept.
 *
 * Bytes wait at most until the end of the current loop turn (a `setImmediate`); `flush()` sends them at once
 * (a request whose reply someone waits for, a full batch, before the socket closes).
 */
import type { Socket } from 'node:net';

/** A batch this big is written at once (the socket's own buffer takes over from there). */
const MAX_BATCH = 64 * 1024;

export class WriteBatch {
  private parts: Buffer[] = [];
  private bytes = 0;
  private scheduled?: NodeJS.Immediate;
  /** Writes to the socket (each one a batch), for tests and metrics. */
  writes = 0;

  constructor(private readonly socket: Socket) {}

  /** Queues `buf`; false when the socket asks callers to wait for 'drain' (as `socket.write` does). */
  write(buf: Buffer): boolean {
    this.parts.push(buf);
    this.bytes += buf.length;
    if (this.bytes >= MAX_BATCH) this.flush();
    else this.scheduled ??= setImmediate(() => this.flush());
    return !this.socket.writableNeedDrain;
  }

  /** Bytes queued and not yet written. */
  get queued(): number {
    return this.bytes;
  }

  /** Writes what is queued now, in one `write`. */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (!this.parts.length) return;
    const parts = this.parts;
    this.parts = [];
    this.bytes = 0;
    if (this.socket.destroyed) return;
    this.writes++;
    this.socket.write(parts.length === 1 ? parts[0] : Buffer.concat(parts));
  }

  /** Forgets what is queued (the socket is gone). */
  clear(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.parts = [];
    this.bytes = 0;
  }
}
