/**
 * Devices (one RPM per lane) and their configuration, for technicians: read what is configured
 * and what the device itself reported (setup dumps), and change the configuration. A change is
 * validated with the configuration schema and the same checks `check-config` runs (SPEC §5), so a
 * technician gets the same words either way; then it is applied without a restart where the lane
 * allows it (alarm thresholds, name) and stored for the next start otherwise. Every change goes
 * to the audit log with the lane's configuration before and after.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { validateConfig } from '../../config/load.js';
import { redactLane, restoreSecrets } from '../../config/redact.js';
import { AlarmSchema, LaneSchema, ModbusOptionsSchema, type LaneConfig } from '../../config/schema.js';
import { ScannerSchema } from '../../config/scanner-schema.js';
import { TECHNICIANS, who } from '../auth/guard.js';
import type { Principal } from '../auth/user-store.js';
import { ApiError, ErrorSchema } from '../errors.js';
import { LaneIdParams } from '../schemas.js';
import type { ApiPlugin } from '../type-provider.js';

/** A deep copy of a schema without `default` keywords: a patch must not fill in what it omits. */
function withoutDefaults<T extends TSchema>(schema: T): T {
  const copy = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(copy);
    if (value === null || typeof value !== 'object') return value;
    const out: Record<string | symbol, unknown> = {};
    for (const key of Reflect.ownKeys(value)) {
      if (key === 'default') continue;
      out[key] = copy((value as Record<string | symbol, unknown>)[key]);
    }
    return out;
  };
  return copy(schema) as T;
}

const { id: _id, alarm: _alarm, modbus: _modbus, scanner: _scanner, ...laneFields } = LaneSchema.properties;
const LanePatch = withoutDefaults(
  Type.Partial(
    Type.Object(
      {
        ...laneFields,
        alarm: Type.Partial(AlarmSchema, { additionalProperties: false }),
        modbus: Type.Partial(ModbusOptionsSchema, { additionalProperties: false }),
        scanner: Type.Partial(ScannerSchema, { additionalProperties: false }),
      },
      { additionalProperties: false },
    ),
    { additionalProperties: false, minProperties: 1, title: 'LaneConfigPatch' },
  ),
);

const ApplyResult = Type.Object({
  lane: LaneSchema,
  live: Type.Array(Type.String(), {
    description: 'Settings in effect now (from the next vehicle at the latest).',
  }),
  restartRequired: Type.Array(Type.String(), { description: 'Settings stored, in effect after a restart.' }),
});

const DeviceSchema = Type.Object(
  {
    lane: Type.String(),
    config: LaneSchema,
    connection: Type.String(),
    reportedSetup: Type.Record(
      Type.String(),
      Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Null()])),
    ),
  },
  { title: 'Device' },
);

export const deviceRoutes: ApiPlugin = (app, { ctx }) => {
  const device = (lane: LaneConfig) => {
    const snapshot = ctx.lanes.snapshot(lane.id);
    return {
      lane: lane.id,
      config: redactLane(lane),
      connection: snapshot?.connection ?? (lane.enabled ? 'unknown' : 'disabled'),
      reportedSetup: snapshot?.deviceSetup ?? {},
    };
  };
  const find = (id: string) => {
    const lane = ctx.lanes.config().lanes.find((l) => l.id === id);
    if (!lane) throw new ApiError('NOT_FOUND', `no lane '${id}'`);
    return lane;
  };

  app.get(
    '/api/v1/devices',
    {
      schema: {
        tags: ['devices'],
        summary: 'Every lane’s device: configuration and what the device reported',
        response: { 200: Type.Array(DeviceSchema) },
      },
    },
    () => ctx.lanes.config().lanes.map(device),
  );

  app.get(
    '/api/v1/devices/:lane',
    {
      schema: {
        tags: ['devices'],
        summary: 'One lane’s device',
        params: LaneIdParams,
        response: { 200: DeviceSchema, 404: ErrorSchema },
      },
    },
    (request) => device(find(request.params.lane)),
  );

  app.get(
    '/api/v1/config/lane-schema',
    {
      schema: {
        tags: ['devices'],
        summary: 'The JSON Schema of a lane’s configuration (with descriptions, for forms)',
        response: { 200: Type.Unknown() },
      },
    },
    () => JSON.parse(JSON.stringify(LaneSchema)) as unknown,
  );

  const apply = (me: Principal, before: LaneConfig, sent: unknown) => {
    const next = restoreSecrets(sent, before);
    if (next === null)
      throw new ApiError(
        'CONFIG_INVALID',
        'scanner.uploadTokens: send every token back as shown to keep them, or only new ones',
        [{ path: 'scanner.uploadTokens', message: 'mixes hidden and new tokens' }],
      );
    const config = ctx.lanes.config();
    const lanes = config.lanes.map((l) => (l.id === before.id ? next : l));
    const result = validateConfig({ ...config, lanes });
    if (!result.ok) {
      const index = config.lanes.findIndex((l) => l.id === before.id);
      const details = result.problems.map((p) => ({
        path: p.path.replace(`lanes[${index}].`, ''),
        message: p.message,
      }));
      throw new ApiError('CONFIG_INVALID', details.map((d) => `${d.path} ${d.message}`).join('; '), details);
    }
    const after = result.config.lanes.find((l) => l.id === before.id)!;
    const applied = ctx.lanes.updateLane(after);
    const entry = ctx.audit.append({
      actor: me.username,
      role: me.role,
      action: 'lane.config.update',
      target: `lane/${before.id}`,
      before: redactLane(before),
      after: redactLane(after),
    });
    ctx.hub.publish('config', { lane: before.id, config: redactLane(after), ...applied });
    ctx.hub.publish('audit', entry);
    ctx.logger.info('lane configuration changed', { lane: before.id, by: me.username, ...applied });
    return {
      lane: redactLane(after),
      live: [...applied.live],
      restartRequired: [...applied.restartRequired],
    };
  };

  app.put(
    '/api/v1/devices/:lane/config',
    {
      config: { allow: TECHNICIANS },
      schema: {
        tags: ['devices'],
        summary: 'Replace a lane’s configuration (validated like check-config)',
        params: LaneIdParams,
        body: LaneSchema,
        response: { 200: ApplyResult, 400: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema },
      },
    },
    (request) => {
      const before = find(request.params.lane);
      if (request.body.id !== before.id) {
        throw new ApiError(
          'CONFIG_INVALID',
          `id is '${request.body.id}' but the lane is '${before.id}'; ids cannot change`,
          [{ path: 'id', message: 'cannot change' }],
        );
      }
      return apply(who(request), before, request.body);
    },
  );

  app.patch(
    '/api/v1/devices/:lane/config',
    {
      config: { allow: TECHNICIANS },
      schema: {
        tags: ['devices'],
        summary:
          'Change some of a lane’s settings, e.g. {"alarm":{"nSigma":5}} (applied live where possible)',
        params: LaneIdParams,
        body: LanePatch,
        response: { 200: ApplyResult, 400: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema },
      },
    },
    (request) => {
      const before = find(request.params.lane);
      const patch = request.body as Record<string, unknown>;
      const next: Record<string, unknown> = { ...before, ...patch };
      for (const section of ['alarm', 'modbus', 'scanner'] as const) {
        if (patch[section] !== undefined) {
          next[section] = { ...(before[section] ?? {}), ...(patch[section] as object) };
        }
      }
      return apply(who(request), before, next);
    },
  );
  return Promise.resolve();
};
