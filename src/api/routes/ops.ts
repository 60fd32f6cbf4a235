/**
 * Operations endpoints: /healthz (the process answers — public, for the supervisor), /readyz
 * (lanes built, database open — public, for a load balancer) and /metrics (Prometheus text; it
 * tells about the site, so it needs a session or an API token like every other route).
 */
import { Type } from '@sinclair/typebox';
import { ErrorSchema } from '../errors.js';
import { MetricsText } from '../metrics.js';
import type { LaneStateName } from '../ports.js';
import type { ApiPlugin } from '../type-provider.js';

const STATES: readonly LaneStateName[] = ['offline', 'idle', 'occupied', 'alarm', 'fault'];

/** Public: /healthz and /readyz. */
export const healthRoutes: ApiPlugin = (app, { ctx }) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['ops'],
        summary: 'Liveness: the process answers',
        security: [],
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['ops'],
        summary: 'Readiness: lanes built and the database answering (503 otherwise)',
        security: [],
        response: {
          200: Type.Object({ ready: Type.Boolean(), checks: Type.Record(Type.String(), Type.Boolean()) }),
          503: Type.Object({ ready: Type.Boolean(), checks: Type.Record(Type.String(), Type.Boolean()) }),
        },
      },
    },
    (_request, reply) => {
      const r = ctx.readiness();
      void reply.code(r.ready ? 200 : 503).send({ ready: r.ready, checks: { ...r.checks } });
    },
  );
  return Promise.resolve();
};

/** Protected: /metrics. */
export const metricsRoutes: ApiPlugin = (app, { ctx }) => {
  const started = ctx.now();
  const responses = new Map<string, number>();
  app.addHook('onResponse', (request, reply) => {
    const key = `${request.method} ${Math.floor(reply.statusCode / 100)}xx`;
    responses.set(key, (responses.get(key) ?? 0) + 1);
  });

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['ops'],
        summary: 'Prometheus metrics (text exposition format)',
        produces: ['text/plain'],
        response: { 200: Type.String(), 401: ErrorSchema },
      },
    },
    (_request, reply) => {
      const lanes = ctx.lanes.snapshots();
      const open = ctx.alarms.openCounts();
      const m = new MetricsText()
        .add('rpm_gateway_up', 'gauge', 'The gateway answers.', [{ value: 1 }])
        .add('rpm_gateway_uptime_seconds', 'gauge', 'Seconds since the HTTP API started.', [
          { value: Math.round((ctx.now() - started) / 1000) },
        ])
        .add(
          'rpm_gateway_lane_state',
          'gauge',
          '1 for the state each lane is in (SPEC §4 states), 0 for the others.',
          lanes.flatMap((l) =>
            STATES.map((state) => ({ labels: { lane: l.id, state }, value: l.state === state ? 1 : 0 })),
          ),
        )
        .add(
          'rpm_gateway_lane_connected',
          'gauge',
          '1 when the lane’s device link is connected.',
          lanes.map((l) => ({ labels: { lane: l.id }, value: l.connection === 'connected' ? 1 : 0 })),
        )
        .add(
          'rpm_gateway_lane_active_faults',
          'gauge',
          'Active detector faults per lane (tamper included).',
          lanes.map((l) => ({ labels: { lane: l.id }, value: l.activeFaults.length + (l.tamper ? 1 : 0) })),
        )
        .add(
          'rpm_gateway_lane_gamma_background_cps',
          'gauge',
          'Last gamma background per channel, counts per second.',
          lanes.flatMap((l) =>
            (l.background.gammaCps ?? []).map((v, i) => ({
              labels: { lane: l.id, channel: l.gammaChannelNames[i] ?? String(i) },
              value: v,
            })),
          ),
        )
        .add(
          'rpm_gateway_bad_input_total',
          'counter',
          'Device input the gateway could not use, by lane and reason.',
          lanes.flatMap((l) =>
            Object.entries(l.badInput).map(([reason, n]) => ({ labels: { lane: l.id, reason }, value: n })),
          ),
        )
        .add(
          'rpm_gateway_open_alarms',
          'gauge',
          'Alarms raised or acknowledged but not adjudicated, per lane.',
          lanes.map((l) => ({ labels: { lane: l.id }, value: open[l.id] ?? 0 })),
        )
        .add('rpm_gateway_occupancies_stored', 'gauge', 'Occupancies in the console’s history.', [
          { value: ctx.occupancies.count() },
        ])
        .add('rpm_gateway_live_subscribers', 'gauge', 'Consoles connected to the live feed.', [
          { value: ctx.hub.subscribers },
        ])
        .add(
          'rpm_gateway_events_total',
          'counter',
          'The gateway’s named counters (malformed lines, Modbus timeouts, …).',
          Object.entries(ctx.counters.snapshot()).map(([name, value]) => ({ labels: { name }, value })),
        )
        .add(
          'rpm_gateway_http_responses_total',
          'counter',
          'HTTP responses by method and status class.',
          [...responses].map(([key, value]) => {
            const [method = '', status = ''] = key.split(' ');
            return { labels: { method, status }, value };
          }),
        )
        .add('process_resident_memory_bytes', 'gauge', 'Resident memory of the gateway process.', [
          { value: process.memoryUsage().rss },
        ]);
      void reply.type('text/plain; version=0.0.4; charset=utf-8').send(m.toString());
    },
  );
  return Promise.resolve();
};
