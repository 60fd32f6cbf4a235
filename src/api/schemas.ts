/**
 * The API's request and response schemas, defined once in TypeBox (STYLE.md §10): they validate
 * requests, shape responses and make the OpenAPI document the console and clients read.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { ADJUDICATION_CODES, MAX_NOTES_LENGTH, SECONDARY_INSPECTION } from '../alarm/lifecycle.js';
import { ROLES } from './ports.js';

const Nullable = <T extends TSchema>(schema: T, options: { description?: string } = {}) =>
  Type.Union([schema, Type.Null()], options);
const IsoTime = Type.String({ format: 'date-time', description: 'ISO 8601 time (UTC).' });

export const RoleSchema = Type.Union(
  ROLES.map((r) => Type.Literal(r)),
  {
    description:
      'viewer: read only; operator: acknowledge and adjudicate alarms; technician: configure lanes and ' +
      'watch health; admin: everything, and users.',
  },
);

export const LaneIdParams = Type.Object({
  lane: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' }),
});
export const OccupancyParams = Type.Object({
  lane: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' }),
  seq: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
});

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'Page size.' })),
  offset: Type.Optional(
    Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0, description: 'Items to skip.' }),
  ),
};

export function Page<T extends TSchema>(item: T, title: string) {
  return Type.Object(
    {
      total: Type.Integer({ description: 'Items matching the filter, over all pages.' }),
      limit: Type.Integer(),
      offset: Type.Integer(),
      items: Type.Array(item),
    },
    { title },
  );
}

const NumberArray = Type.Array(Type.Number());
const SetupValues = Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Null()]));

/** A scanner PLC's status block (src/drivers/scanner/plc-map.ts; docs/imaging.md has the register map). */
export const ScannerStatusSchema = Type.Object(
  {
    state: Type.Union(['idle', 'ready', 'scanning', 'fault', 'unknown'].map((s) => Type.Literal(s))),
    stateCode: Type.Integer({ description: 'The raw state register (kept for an unknown state).' }),
    interlockClosed: Type.Boolean(),
    radiationOn: Type.Boolean(),
    vehiclePresent: Type.Boolean(),
    remoteEnabled: Type.Boolean(),
    emergencyStop: Type.Boolean(),
    scanCounter: Type.Integer(),
    faultCode: Type.Integer({ description: '0: none; else site-specific.' }),
    energyMode: Type.Integer({ description: '1 single, 2 dual energy.' }),
    rawStatus: Type.Integer(),
  },
  { title: 'ScannerStatus' },
);

export const ScannerPlcSchema = Type.Object(
  {
    link: Type.Union(['connecting', 'connected', 'disconnected'].map((s) => Type.Literal(s))),
    linkDetail: Nullable(Type.String(), {
      description: 'Why the link is down ("…; retrying in 1000 ms"), or how it came up ("after 4 attempts").',
    }),
    problem: Nullable(Type.String(), {
      description:
        'Why the last block read could not be decoded (the site register map does not match the PLC); null when it could.',
    }),
    status: Nullable(ScannerStatusSchema, {
      description: 'The last status read, kept while the link is down; null before the first.',
    }),
    since: IsoTime,
  },
  { title: 'ScannerPlc' },
);

export const LaneSnapshotSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    driver: Type.String(),
    channels: Type.Object({ gamma: Type.Integer(), neutron: Type.Integer() }),
    gammaChannelNames: Type.Array(Type.String()),
    state: Type.Union(['offline', 'idle', 'occupied', 'alarm', 'fault'].map((s) => Type.Literal(s))),
    since: IsoTime,
    connection: Type.String(),
    connectionDetail: Nullable(Type.String()),
    occupancySeq: Nullable(Type.Integer()),
    deviceAlarm: Type.Boolean(),
    activeFaults: Type.Array(Type.String()),
    tamper: Type.Boolean(),
    background: Type.Object({
      gammaCps: Nullable(NumberArray),
      neutronCps: Nullable(NumberArray),
      gammaFault: Type.String(),
      neutronFault: Type.String(),
      at: Nullable(IsoTime),
    }),
    lastOccupancy: Nullable(
      Type.Object({
        seq: Type.Integer(),
        end: Type.String(),
        alarm: Type.Boolean(),
        disposition: Type.String(),
      }),
    ),
    deviceSetup: Type.Record(Type.String(), SetupValues),
    badInput: Type.Record(Type.String(), Type.Integer()),
    unknownRecords: Type.Integer(),
    alarm: Type.Optional(
      Type.Object(
        { nSigma: Type.Number(), neutronFalseAlarmProbability: Type.Number() },
        { additionalProperties: true },
      ),
    ),
    openAlarms: Type.Optional(Type.Integer()),
    scannerPlc: Type.Optional(
      Nullable(ScannerPlcSchema, {
        description: "The lane's cargo scanner PLC as last polled; null without one.",
      }),
    ),
  },
  { title: 'Lane' },
);

const AssessmentSchema = Type.Object(
  {
    category: Type.String(),
    disposition: Type.String(),
    confidence: Type.Number(),
    probabilities: Type.Record(Type.String(), Type.Number()),
    reasons: Type.Array(Type.String()),
  },
  { additionalProperties: true },
);

/** SPEC §5 occupancy record; fields added later by the pipeline pass through. */
export const OccupancySchema = Type.Object(
  {
    type: Type.Literal('occupancy'),
    lane: Type.String(),
    seq: Type.Integer(),
    index: Nullable(Type.Integer()),
    continuation: Type.Boolean(),
    partial: Type.Optional(Type.Boolean()),
    start: Type.String(),
    end: Type.String(),
    durationS: Type.Number(),
    endedAbnormally: Type.Boolean(),
    endReason: Type.Optional(Type.String()),
    speedKph: Nullable(Type.Number()),
    device: Type.Object({ gammaAlarm: Type.Boolean(), neutronAlarm: Type.Boolean() }),
    gamma: Type.Object(
      { alarm: Type.Boolean(), maxSigma: Type.Number(), backgroundCps: Nullable(Type.Number()) },
      { additionalProperties: true },
    ),
    neutron: Type.Object(
      { alarm: Type.Boolean(), maxCounts: Type.Number(), backgroundCps: Type.Number() },
      { additionalProperties: true },
    ),
    assessment: AssessmentSchema,
  },
  { additionalProperties: true, title: 'Occupancy' },
);

const SeriesSchema = Type.Object({
  channels: Type.Integer(),
  intervalMs: Type.Number(),
  offsetsMs: NumberArray,
  counts: Type.Array(NumberArray, { description: 'counts[sample][channel]' }),
  deviceAlarm: Type.Array(Type.Boolean()),
  preTrigger: Type.Array(Type.Boolean()),
  backgroundCps: Nullable(NumberArray),
});

export const ProfileSchema = Type.Object(
  {
    t0: Type.Number({ description: 'Epoch ms of the first sample; offsetsMs count from here.' }),
    nSigma: Type.Number({ description: 'The gamma N-sigma the lane decided this occupancy with.' }),
    gammaChannelNames: Type.Array(Type.String()),
    gamma: SeriesSchema,
    neutron: SeriesSchema,
  },
  { title: 'CountProfile' },
);

export const AdjudicationCodeSchema = Type.Integer({
  minimum: 1,
  maximum: 11,
  description: Object.entries(ADJUDICATION_CODES)
    .map(([code, c]) => `${code} ${c.name} (${c.group})`)
    .join('; '),
});
export const SecondaryInspectionSchema = Type.Union(SECONDARY_INSPECTION.map((s) => Type.Literal(s)));

const Step = Type.Object({ by: Type.String(), at: Type.String() });

export const AlarmSchema = Type.Object(
  {
    id: Type.String(),
    lane: Type.String(),
    seq: Type.Integer({ description: 'The occupancy that raised it.' }),
    deviceIndex: Nullable(Type.Integer()),
    raisedAt: Type.String(),
    status: Type.Union([Type.Literal('raised'), Type.Literal('acknowledged'), Type.Literal('adjudicated')]),
    version: Type.Integer({ description: 'Send back as expectedVersion to refuse stale changes.' }),
    gammaAlarm: Type.Boolean(),
    neutronAlarm: Type.Boolean(),
    category: Type.String(),
    disposition: Type.String(),
    confidence: Type.Number(),
    reasons: Type.Array(Type.String()),
    acknowledged: Nullable(Step),
    adjudication: Nullable(
      Type.Object({
        code: Type.Integer(),
        label: Type.String(),
        group: Type.String(),
        secondaryInspection: Type.String(),
        notes: Type.String(),
        by: Type.String(),
        at: Type.String(),
      }),
    ),
  },
  { title: 'Alarm' },
);

export const AlarmHistorySchema = Type.Array(
  Type.Object({
    version: Type.Integer(),
    at: Type.String(),
    action: Type.String(),
    by: Type.String(),
    implicit: Type.Boolean(),
    before: Type.Unknown(),
    after: Type.Unknown(),
  }),
);

export const AdjudicationBody = Type.Object(
  {
    code: AdjudicationCodeSchema,
    secondaryInspection: Type.Optional(SecondaryInspectionSchema),
    notes: Type.Optional(Type.String({ maxLength: MAX_NOTES_LENGTH })),
    expectedVersion: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

export const AuditEntrySchema = Type.Object(
  {
    id: Type.Integer(),
    at: Type.String(),
    actor: Type.String(),
    role: Type.String(),
    action: Type.String(),
    target: Type.String(),
    before: Type.Unknown(),
    after: Type.Unknown(),
    hash: Type.String({ description: 'SHA-256 chained to the previous entry.' }),
  },
  { title: 'AuditEntry' },
);

export const UserSchema = Type.Object(
  {
    username: Type.String(),
    role: RoleSchema,
    disabled: Type.Boolean(),
    createdAt: Type.String(),
    updatedAt: Type.String(),
  },
  { title: 'User' },
);

export const MeSchema = Type.Object({ username: Type.String(), role: RoleSchema, via: Type.String() });

export const OkSchema = Type.Object({ ok: Type.Boolean() });
