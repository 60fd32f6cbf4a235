/**
 * The configuration of one lane (`lanes[]`): which RPM protocol it speaks and where the device
 * is, its channel order, the gateway's alarm thresholds and the Modbus RPM options. The lane's
 * cargo scanner has its own module (scanner-schema.ts). Part of the schema defined once in
 * schema.ts (STYLE.md §10), which re-exports it: import from there.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ScannerSchema } from './scanner-schema.js';

/** A name used in topics, file names and event sources: lane ids, and the site and gateway ids. */
export const Identifier = (description: string) =>
  Type.String({
    pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$',
    description,
  });

export const ChannelOrderSchema = Type.Array(Type.Integer({ minimum: 0, maximum: 3 }), {
  minItems: 4,
  maxItems: 4,
  description:
    'Where each canonical channel [masterUpper, masterLower, slaveLower, slaveUpper] sits on the wire: ' +
    'channelOrder[i] is the wire position of canonical channel i. Default [0, 1, 2, 3].',
});

export const AlarmSchema = Type.Object(
  {
    nSigma: Type.Number({
      minimum: 1,
      maximum: 50,
      default: 6,
      description: 'Gamma alarm threshold in standard deviations above background (SPEC §3). Default 6.',
    }),
    neutronFalseAlarmProbability: Type.Number({
      exclusiveMinimum: 0,
      maximum: 0.01,
      default: 1e-6,
      description: 'Per-sample false alarm probability of the neutron Poisson test. Default 1e-6.',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const ModbusOptionsSchema = Type.Object(
  {
    pollIntervalMs: Type.Integer({
      minimum: 50,
      maximum: 10_000,
      default: 200,
      description: 'How often the monitor block is read, in milliseconds. Default 200.',
    }),
    timeoutMs: Type.Integer({
      minimum: 50,
      maximum: 30_000,
      default: 400,
      description:
        'How long to wait for one Modbus answer before counting a timeout; the first timeout reports ' +
        'the device silent. Default 400 (two polls, so silence shows within 3 poll intervals).',
    }),
    scanUnitIds: Type.Boolean({
      default: false,
      description: 'Try unit ids 1–32 and use the first that answers the description block.',
    }),
    gammaCountMode: Type.Union([Type.Literal('per-interval'), Type.Literal('cumulative')], {
      default: 'per-interval',
      description: 'Whether the gamma/neutron count registers hold counts per poll or a running total.',
    }),
    speedUnitToMps: Type.Number({
      exclusiveMinimum: 0,
      default: 0.001,
      description: 'Factor from the speed register to metres per second (default 0.001: mm/s).',
    }),
  },
  { additionalProperties: false },
);

export const LaneSchema = Type.Object(
  {
    id: Identifier('Lane identifier, used in topics and file names (letters, digits, - and _).'),
    name: Type.Optional(Type.String({ maxLength: 120, description: 'A human name for the lane.' })),
    driver: Type.Union([Type.Literal('vm250'), Type.Literal('modbus-rpm')], {
      description: 'Which RPM protocol the lane speaks: vm250 (ASCII stream) or modbus-rpm (Aspect-style).',
    }),
    address: Type.String({
      minLength: 1,
      description:
        'Where the device is: tcp://host:1601 or serial:///dev/ttyS0?baudRate=9600 for vm250; ' +
        'modbus-tcp://host:502?unitId=1 or modbus-rtu:///dev/ttyUSB0?baudRate=19200&unitId=1 for modbus-rpm.',
    }),
    channelOrder: Type.Optional(ChannelOrderSchema),
    alarm: AlarmSchema,
    modbus: Type.Optional(ModbusOptionsSchema),
    scanner: Type.Optional(ScannerSchema),
    enabled: Type.Boolean({ default: true, description: 'Set to false to keep a lane configured but idle.' }),
  },
  { additionalProperties: false },
);

export type LaneConfig = Static<typeof LaneSchema>;
export type ModbusOptions = Static<typeof ModbusOptionsSchema>;
