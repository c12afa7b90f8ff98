/** Serves the web console's static files (controller/web/dist, else controller/web/public) at `/` and `/ui/*`. No directory traversal, fixed types. */
import type { FastifyInstance } from 'fastify';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

/** The package root (works from the TypeScript sources and from dist/). */
export function packageRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(d, 'package.json')) && JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')).name === 'sdn-acl') return d;
    d = dirname(d);
  }
  return process.cwd();
}

/** The web console's build output (controller/web/dist) if there is one, else its plain static files (controller/web/public). */
export function webRoot(): string {
  const base = join(packageRoot(), 'controller', 'web');
  return existsSync(join(base, 'dist', 'index.html')) ? join(base, 'dist') : join(base, 'public');
}

export function registerWebConsole(app: FastifyInstance, root = webRoot()): void {
  const serve = async (rel: string) => {
    const file = normalize(join(root, rel));
    if (!file.startsWith(root + sep)) return undefined;
    try {
      return { body: await readFile(file), type: TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream' };
    } catch {
      return undefined;
    }
  };
  app.get('/', async (_req, reply) => {
    const f = await serve('index.html');
    if (!f) return reply.code(404).send({ error: 'web console files not found' });
    reply.type(f.type).header('cache-control', 'no-cache').send(f.body);
  });
  const file = async (req: { params: { '*': string } }, reply: import('fastify').FastifyReply) => {
    const f = await serve(req.params['*']);
    if (!f) return reply.code(404).send({ error: 'not found' });
    reply.type(f.type).header('cache-control', 'no-cache').send(f.body);
  };
  app.get<{ Params: { '*': string } }>('/ui/*', file);
  // Any other GET (e.g. /assets/app.js from a bundler build) is a console file; API routes are matched first.
  app.get<{ Params: { '*': string } }>('/*', file);
}
