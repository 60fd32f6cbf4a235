/**
 * The live feed (SPEC §6) as Server-Sent Events: plain HTTP, passes proxies, reconnects by itself
 * in the browser, and carries the session cookie like any request. Events: `hello` (the lanes at
 * connection), `lane` (state changes), `sample` (count samples while a lane is occupied, unless
 * `?samples=false`), `occupancy`, `alarm`, `config`, `audit`, `scan` (a cargo scan analyzed or
 * linked), `scanner` (a scanner PLC's status or link changed). A comment line every 15 s keeps
 * idle proxies from closing the stream.
 *
 * A client that stops reading is dropped once 1 MiB is waiting for it: the gateway never buffers
 * without bound for a stalled console (SPEC §8).
 */
import { Type } from '@sinclair/typebox';
import { ErrorSchema } from '../errors.js';
import { laneView } from './lanes.js';
import type { ApiPlugin } from '../type-provider.js';

const MAX_BUFFERED = 1 << 20;
const HEARTBEAT_MS = 15_000;

export const liveRoutes: ApiPlugin = (app, { ctx }) => {
  // Open streams end when the server closes (preClose: before it waits for connections to drain).
  const open = new Set<() => void>();
  app.addHook('preClose', () => {
    for (const close of [...open]) close();
  });
  app.get(
    '/api/v1/live',
    {
      schema: {
        tags: ['live'],
        summary:
          'Server-Sent Events: lane states, samples, occupancies, alarms, config, audit, scans and scanner status',
        querystring: Type.Object(
          { samples: Type.Optional(Type.Boolean({ default: true, description: 'Include count samples.' })) },
          { additionalProperties: false },
        ),
        produces: ['text/event-stream'],
        response: { 200: Type.String(), 401: ErrorSchema },
      },
    },
    (request, reply) => {
      const samples = request.query.samples !== false;
      const raw = reply.raw;
      reply.hijack();
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      let id = 0;
      const send = (type: string, data: unknown) => {
        raw.write(`id: ${++id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      send('hello', { lanes: ctx.lanes.snapshots().map((s) => laneView(ctx, s)) });
      const unsubscribe = ctx.hub.subscribe((event) => {
        if (event.type === 'sample' && !samples) return;
        if (raw.writableLength > MAX_BUFFERED) {
          close();
          return;
        }
        send(event.type, event.data);
      });
      const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
      heartbeat.unref();
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        open.delete(close);
        unsubscribe();
        raw.end();
      };
      open.add(close);
      raw.on('close', close);
      request.raw.on('close', close);
    },
  );
  return Promise.resolve();
};
