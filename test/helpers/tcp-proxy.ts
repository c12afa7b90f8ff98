/**
 * A TCP proxy in its own process (so a busy test process cannot stall it), for cutting one node off a server:
 *   node --import tsx test/helpers/tcp-proxy.ts LISTEN_PORT TARGET_PORT
 * Prints "READY". SIGUSR1 cuts every connection and refuses new ones; SIGUSR2 lets connections through again.
 */
import { connect, createServer, type Socket } from 'node:net';

const [listen, target] = process.argv.slice(2).map(Number);
let up = true;
const open = new Set<Socket>();
const server = createServer((c) => {
  if (!up) {
    c.destroy();
    return;
  }
  const u = connect(target, '127.0.0.1');
  open.add(c);
  open.add(u);
  const drop = () => {
    c.destroy();
    u.destroy();
    open.delete(c);
    open.delete(u);
  };
  c.on('error', drop);
  u.on('error', drop);
  c.on('close', drop);
  u.on('close', drop);
  c.pipe(u);
  u.pipe(c);
});
process.on('SIGUSR1', () => {
  up = false;
  for (const s of open) s.destroy();
  open.clear();
});
process.on('SIGUSR2', () => {
  up = true;
});
process.on('SIGTERM', () => process.exit(0));
server.listen(listen, '127.0.0.1', () => console.log('READY'));
