/** Serves the web console's static files (controller/web/public) at `/`. No directory traversal, fixed types. */
import type { FastifyInstance } from 'fastify';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json' };

/** The package root (works from the TypeScript sources and from dist/). */
export function packageRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(d, 'package.json')) && JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')).name === 'sdn-acl') return d;
    d = dirname(d);
  }
  return process.cwd();
}

export function registerWebConsole(app: FastifyInstance, root = join(packageRoot(), 'controller', 'web', 'public')): void {
  const serve = async (rel: string) => {
    const file = normalize(join(root, rel));
    if (!file.startsWith(root + sep)) return undefined;
    try { return { body: await readFile(file), type: TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream' }; } catch { return undefined; }
  };
  app.get('/', async (_req, reply) => {
    const f = await serve('index.html');
    if (!f) return reply.code(404).send({ error: 'web console files not found' });
    reply.type(f.type).header('cache-control', 'no-cache').send(f.body);
  });
  app.get<{ Params: { '*': string } }>('/ui/*', async (req, reply) => {
    const f = await serve(req.params['*']);
    if (!f) return reply.code(404).send({ error: 'not found' });
    reply.type(f.type).header('cache-control', 'no-cache').send(f.body);
  });
}
