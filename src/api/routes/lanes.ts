/**
 * Lanes and their live state (SPEC §6: lane tiles). Each lane carries the alarm thresholds in
 * effect, its count of open alarms and its cargo scanner's PLC status, so a tile needs one request.
 */
import { Type } from '@sinclair/typebox';
import type { ApiContext } from '../context.js';
import type { ApiPlugin } from '../type-provider.js';
import { ApiError, ErrorSchema } from '../errors.js';
import type { LaneSnapshot } from '../ports.js';
import { LaneIdParams, LaneSnapshotSchema, ProfileSchema } from '../schemas.js';

export function laneView(ctx: ApiContext, snapshot: LaneSnapshot) {
  const config = ctx.lanes.config().lanes.find((l) => l.id === snapshot.id);
  return {
    ...snapshot,
    ...(config ? { alarm: { ...config.alarm } } : {}),
    openAlarms: ctx.alarms.openCounts()[snapshot.id] ?? 0,
    scannerPlc: ctx.scans?.lanes.find((l) => l.lane === snapshot.id)?.plc ?? null,
  };
}

export const laneRoutes: ApiPlugin = (app, { ctx }) => {
  app.get(
    '/api/v1/lanes',
    {
      schema: {
        tags: ['lanes'],
        summary: 'Every lane with its live state',
        response: { 200: Type.Array(LaneSnapshotSchema) },
      },
    },
    () => ctx.lanes.snapshots().map((s) => laneView(ctx, s)),
  );

  app.get(
    '/api/v1/lanes/:lane',
    {
      schema: {
        tags: ['lanes'],
        summary: 'One lane with its live state',
        params: LaneIdParams,
        response: { 200: LaneSnapshotSchema, 404: ErrorSchema },
      },
    },
    (request) => {
      const snapshot = ctx.lanes.snapshot(request.params.lane);
      if (snapshot === null) throw new ApiError('NOT_FOUND', `no lane '${request.params.lane}'`);
      return laneView(ctx, snapshot);
    },
  );

  app.get(
    '/api/v1/lanes/:lane/current',
    {
      schema: {
        tags: ['lanes'],
        summary: 'The count profile of the occupancy in progress (404 when the lane is empty)',
        params: LaneIdParams,
        response: { 200: Type.Object({ seq: Type.Integer(), profile: ProfileSchema }), 404: ErrorSchema },
      },
    },
    (request) => {
      const current = ctx.currentProfile?.(request.params.lane) ?? null;
      if (current === null) throw new ApiError('NOT_FOUND', 'no occupancy in progress');
      return current;
    },
  );
  return Promise.resolve();
};
