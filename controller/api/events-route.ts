/** GET /events: the controller's events as server-sent events (`event: <type>`, JSON data). Read scope (?token= allowed). */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { Controller, ControllerEvent } from '../controller.js';
import { jsonReplacer } from '../../compiler/format.js';
import type { Auth } from './auth.js';

export interface EventRoutesOptions {
  readonly ctl: Controller;
  readonly auth: Auth;
  readonly streams: Set<ServerResponse>;
}

/** Ends the open event streams when the app closes (so close() does not wait for them). */
export function trackStreams(app: FastifyInstance): Set<ServerResponse> {
  const streams = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of streams) res.end();
  });
  return streams;
}

export const eventRoutes: FastifyPluginAsync<EventRoutesOptions> = async (r, { ctl, auth, streams }) => {
  r.get('/events', { preHandler: auth.requireRead }, (_req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`event: hello\ndata: ${JSON.stringify({ version: ctl.version })}\n\n`);
    // A slow reader is not allowed to pile up memory: beyond 1 MB unsent, its stream is closed (it reconnects).
    const on = (e: ControllerEvent) => {
      if (res.writableLength > 1 << 20) {
        res.destroy();
        return;
      }
      res.write(`event: ${e.type}\ndata: ${JSON.stringify(e, jsonReplacer)}\n\n`);
    };
    ctl.on('event', on);
    const ping = setInterval(() => res.write(': ping\n\n'), 15000);
    ping.unref();
    streams.add(res);
    res.on('close', () => {
      ctl.off('event', on);
      clearInterval(ping);
      streams.delete(res);
    });
  });
};
