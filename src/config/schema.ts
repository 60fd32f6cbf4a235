/**
 * The configuration schema, defined once (STYLE.md §10): it gives the TypeScript types, the
 * JSON Schema that `check-config` validates against, and the defaults the gateway runs with.
 * Every field carries a description, because the descriptions are what a technician reads.
 */
import { Type, type Static } from '@sinclair/typebox';

const Identifier = (description: string) =>
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
    enabled: Type.Boolean({ default: true, description: 'Set to false to keep a lane configured but idle.' }),
  },
  { additionalProperties: false },
);

export const GatewayConfigSchema = Type.Object(
  {
    site: Identifier('Site identifier (the port or crossing), used in topics and event sources.'),
    gatewayId: Type.Optional(Identifier('This gateway’s identifier. Default: the host name.')),
    log: Type.Object(
      {
        level: Type.Union(
          [Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error')],
          { default: 'info', description: 'Log level: debug, info, warn or error.' },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    storage: Type.Object(
      {
        dir: Type.String({
          minLength: 1,
          default: './var',
          description: 'Directory for the gateway’s durable state (occupancy numbering, later the outbox).',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    lanes: Type.Array(LaneSchema, { minItems: 1, description: 'The lanes this gateway serves.' }),
  },
  { additionalProperties: false },
);

export type GatewayConfig = Static<typeof GatewayConfigSchema>;
export type LaneConfig = Static<typeof LaneSchema>;
export type ModbusOptions = Static<typeof ModbusOptionsSchema>;
