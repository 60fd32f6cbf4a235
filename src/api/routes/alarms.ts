/**
 * Alarms and their lifecycle (SPEC §3 step 5): the queue, one alarm with its history,
 * acknowledge, adjudicate with the SPEC §3 codes. Acknowledgements and adjudications go to the
 * audit log with the alarm before and after, in the transition's own transaction (it holds the
 * write lock, so the bridge's outbox writer committing meanwhile cannot make the audit entry
 * fail after the alarm changed). The live feed and the MQTT events
 * (rpm.alarm.acknowledged / adjudicated) follow the alarm store itself, so they carry central's
 * commands as well as these routes' changes, each once.
 */
import { Type } from '@sinclair/typebox';
import { ADJUDICATION_CODES, SECONDARY_INSPECTION } from '../../alarm/lifecycle.js';
import { OPERATORS, who } from '../auth/guard.js';
import type { AuditEntry } from '../../storage/audit-store.js';
import type { ApiPlugin } from '../type-provider.js';
import { ApiError, ErrorSchema } from '../errors.js';
import { AdjudicationBody, AlarmHistorySchema, AlarmSchema } from '../schemas.js';

/** `<lane>:<occupancy seq>` (as in rpm.alarm.raised), or the ULID of an alarm raised before ids were that. */
const AlarmIdParams = Type.Object({ id: Type.String({ pattern: '^[0-9A-Za-z][0-9A-Za-z_:-]{0,99}$' }) });

export const alarmRoutes: ApiPlugin = (app, { ctx }) => {
  app.get(
    '/api/v1/adjudication-codes',
    {
      schema: {
        tags: ['alarms'],
        summary: 'The adjudication codes (SPEC §3) and secondary inspection states',
        response: {
          200: Type.Object({
            codes: Type.Array(
              Type.Object({ code: Type.Integer(), label: Type.String(), group: Type.String() }),
            ),
            secondaryInspection: Type.Array(Type.String()),
          }),
        },
      },
    },
    () => ({
      codes: Object.entries(ADJUDICATION_CODES).map(([code, c]) => ({
        code: Number(code),
        label: c.name,
        group: c.group,
      })),
      secondaryInspection: [...SECONDARY_INSPECTION],
    }),
  );

  app.get(
    '/api/v1/alarms',
    {
      schema: {
        tags: ['alarms'],
        summary: 'Alarms, newest first; page with nextCursor',
        querystring: Type.Object(
          {
            lane: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' })),
            status: Type.Optional(
              Type.Union([Type.Literal('raised'), Type.Literal('acknowledged'), Type.Literal('adjudicated')]),
            ),
            open: Type.Optional(Type.Boolean({ description: 'true: raised and acknowledged alarms only.' })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
            cursor: Type.Optional(Type.String({ maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(AlarmSchema),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          400: ErrorSchema,
        },
      },
    },
    (request) => {
      const q = request.query;
      const base = { ...(q.lane === undefined ? {} : { lane: q.lane }), limit: q.limit ?? 50 };
      if (q.open) {
        // The open queue is short: both states in one list, oldest first (first come, first served).
        const raised = ctx.alarms.list({ ...base, status: 'raised', limit: 500 }).items;
        const acknowledged = ctx.alarms.list({ ...base, status: 'acknowledged', limit: 500 }).items;
        const items = [...raised, ...acknowledged].sort((a, b) => a.raisedAt.localeCompare(b.raisedAt));
        return { items, nextCursor: null };
      }
      return ctx.alarms.list({
        ...base,
        ...(q.status === undefined ? {} : { status: q.status }),
        ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
      });
    },
  );

  app.get(
    '/api/v1/alarms/:id',
    {
      schema: {
        tags: ['alarms'],
        summary: 'One alarm',
        params: AlarmIdParams,
        response: { 200: AlarmSchema, 404: ErrorSchema },
      },
    },
    (request) => {
      const alarm = ctx.alarms.get(request.params.id);
      if (alarm === null) throw new ApiError('NOT_FOUND', `no alarm ${request.params.id}`);
      return alarm;
    },
  );

  app.get(
    '/api/v1/alarms/:id/history',
    {
      schema: {
        tags: ['alarms'],
        summary: 'Every step of the alarm: who, when, before, after',
        params: AlarmIdParams,
        response: { 200: AlarmHistorySchema, 404: ErrorSchema },
      },
    },
    (request) => ctx.alarms.history(request.params.id),
  );

  app.post(
    '/api/v1/alarms/:id/acknowledge',
    {
      config: { allow: OPERATORS },
      schema: {
        tags: ['alarms'],
        summary: 'Acknowledge an alarm',
        params: AlarmIdParams,
        body: Type.Optional(
          Type.Object(
            { expectedVersion: Type.Optional(Type.Integer({ minimum: 1 })) },
            { additionalProperties: false },
          ),
        ),
        response: {
          200: AlarmSchema,
          400: ErrorSchema,
          403: ErrorSchema,
          404: ErrorSchema,
          409: ErrorSchema,
        },
      },
    },
    (request) => {
      const me = who(request);
      const { after } = ctx.alarms.acknowledge(
        request.params.id,
        me.username,
        request.body?.expectedVersion,
        // In the transition's transaction: no acknowledgement without its audit entry.
        ({ before, after }) =>
          ctx.audit.append({
            actor: me.username,
            role: me.role,
            action: 'alarm.acknowledge',
            target: `alarm/${after.id}`,
            before: lifecycle(before),
            after: lifecycle(after),
          }),
      );
      return after;
    },
  );

  app.post(
    '/api/v1/alarms/:id/adjudication',
    {
      config: { allow: OPERATORS },
      schema: {
        tags: ['alarms'],
        summary: 'Adjudicate (close) an alarm with a SPEC §3 code; acknowledges it too if needed',
        params: AlarmIdParams,
        body: AdjudicationBody,
        response: {
          200: AlarmSchema,
          400: ErrorSchema,
          403: ErrorSchema,
          404: ErrorSchema,
          409: ErrorSchema,
        },
      },
    },
    (request) => {
      const me = who(request);
      const { code, secondaryInspection, notes, expectedVersion } = request.body;
      // Set inside the transaction's callback (`as`: the compiler does not follow callbacks).
      let entry = null as AuditEntry | null;
      const { after } = ctx.alarms.adjudicate(
        request.params.id,
        {
          code,
          ...(secondaryInspection === undefined ? {} : { secondaryInspection }),
          ...(notes === undefined ? {} : { notes }),
        },
        me.username,
        expectedVersion,
        // In the transition's transaction: no adjudication without its audit entry.
        ({ before, after }) => {
          entry = ctx.audit.append({
            actor: me.username,
            role: me.role,
            action: 'alarm.adjudicate',
            target: `alarm/${after.id}`,
            before: lifecycle(before),
            after: lifecycle(after),
          });
        },
      );
      if (entry !== null) ctx.hub.publish('audit', entry);
      return after;
    },
  );
  return Promise.resolve();
};

/** The lifecycle part of an alarm, as the audit log keeps it. */
function lifecycle(a: {
  lane: string;
  seq: number;
  status: string;
  version: number;
  acknowledged: unknown;
  adjudication: unknown;
}) {
  return {
    lane: a.lane,
    seq: a.seq,
    status: a.status,
    version: a.version,
    acknowledged: a.acknowledged,
    adjudication: a.adjudication,
  };
}
