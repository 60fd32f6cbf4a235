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

const RegisterOffset = (description: string) =>
  Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description }));

/** The scanner PLC's register map, as a site's overrides of the project's map (docs/imaging.md). */
export const ScannerPlcMapSchema = Type.Object(
  {
    base: RegisterOffset('First holding register of the block. Default 0.'),
    offsets: Type.Optional(
      Type.Object(
        {
          signature: RegisterOffset('Offset of the signature register. Default 0.'),
          version: RegisterOffset('Offset of the map version. Default 1.'),
          state: RegisterOffset('Offset of the state register. Default 2.'),
          status: RegisterOffset('Offset of the status bits. Default 3.'),
          scanCounter: RegisterOffset(
            'Offset of the scan counter (two registers, low word first). Default 4.',
          ),
          faultCode: RegisterOffset('Offset of the fault code. Default 6.'),
          energyMode: RegisterOffset('Offset of the energy mode. Default 7.'),
          command: RegisterOffset('Offset of the command register (written). Default 8.'),
        },
        { additionalProperties: false, description: 'Register offsets from base, where they differ.' },
      ),
    ),
    bits: Type.Optional(
      Type.Object(
        {
          interlock: RegisterOffset('Status bit mask: interlock closed. Default 0x1 (1).'),
          radiationOn: RegisterOffset('Status bit mask: radiation on. Default 0x2 (2).'),
          vehiclePresent: RegisterOffset('Status bit mask: vehicle present. Default 0x4 (4).'),
          remote: RegisterOffset('Status bit mask: remote control enabled. Default 0x8 (8).'),
          emergencyStop: RegisterOffset('Status bit mask: emergency stop. Default 0x10 (16).'),
        },
        { additionalProperties: false, description: 'Status bit masks, where they differ.' },
      ),
    ),
    states: Type.Optional(
      Type.Record(
        Type.String({ pattern: '^[0-9]+$' }),
        Type.Union([
          Type.Literal('idle'),
          Type.Literal('ready'),
          Type.Literal('scanning'),
          Type.Literal('fault'),
        ]),
        {
          description:
            'State register value → state, replacing the default { "0": idle, "1": ready, "2": scanning, "3": fault }.',
        },
      ),
    ),
    commands: Type.Optional(
      Type.Object(
        {
          arm: RegisterOffset('Command value: arm. Default 1.'),
          start: RegisterOffset('Command value: start scan. Default 2.'),
          stop: RegisterOffset('Command value: stop. Default 3.'),
          reset: RegisterOffset('Command value: reset fault. Default 4.'),
        },
        { additionalProperties: false, description: 'Command register values, where they differ.' },
      ),
    ),
    signature: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0, maximum: 65535 }), Type.Null()], {
        description: 'Expected signature register value (default 0x5343, 21315); null: the PLC has none.',
      }),
    ),
  },
  { additionalProperties: false },
);

/** A lane's cargo scanner (SPEC §1.3, §3 item 6). Absent: the lane has no scanner. */
export const ScannerSchema = Type.Object(
  {
    inbox: Type.String({
      minLength: 1,
      description:
        'Folder where the scanner workstation drops scans (16-bit PNG/TIFF + JSON sidecar, or DICOS DX). ' +
        'Taken scans move to processed/, unusable ones to rejected/ with a reason.',
    }),
    plc: Type.Optional(
      Type.Object(
        {
          address: Type.String({
            pattern: '^modbus-(tcp|rtu)://',
            description:
              'The scanner PLC (status and commands): modbus-tcp://host:502?unitId=1, or modbus-rtu://… ' +
              '(status only). Absent: no PLC link, scans come from the inbox and uploads alone.',
          }),
          pollMs: Type.Integer({
            minimum: 100,
            maximum: 60_000,
            default: 500,
            description: 'How often the PLC status block is read, in milliseconds. Default 500.',
          }),
          map: Type.Optional(ScannerPlcMapSchema),
        },
        { additionalProperties: false },
      ),
    ),
    uploadTokens: Type.Array(Type.String({ minLength: 16 }), {
      default: [],
      description:
        'Bearer tokens a scanner workstation may upload scans with (POST /api/v1/scanners/<lane>/scans); ' +
        'at least 16 characters; keep them in the environment: ${SCANNER_UPLOAD_TOKEN}. Empty: ' +
        'only logged-in technicians may upload.',
    }),
    polarity: Type.Optional(
      Type.Union([Type.Literal('transmission'), Type.Literal('attenuation')], {
        description:
          'The detector values: transmission (lower value = more attenuation, the usual) or attenuation. ' +
          'Set it only when the scanner’s files do not say it correctly; it overrides them.',
      }),
    ),
    model: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'An ONNX anomaly model meeting the contract of docs/imaging.md. Default: the gateway’s own ' +
          'models/xray-anomaly-v1.onnx.',
      }),
    ),
    fusion: Type.Object(
      {
        beforeS: Type.Number({
          minimum: 0,
          maximum: 3600,
          default: 30,
          description: 'A scan may start this many seconds before the vehicle’s occupancy. Default 30.',
        }),
        afterS: Type.Number({
          minimum: 0,
          maximum: 3600,
          default: 120,
          description: 'A scan may start this many seconds after the occupancy ended. Default 120.',
        }),
      },
      {
        additionalProperties: false,
        default: {},
        description: 'The time window that ties a scan to the lane’s occupancy (SPEC §3 item 6).',
      },
    ),
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

export const MqttSchema = Type.Object(
  {
    url: Type.String({
      pattern: '^mqtts?://',
      description:
        'The MQTT broker central command listens on: mqtt://host:1883, or mqtts://host:8883 for TLS.',
    }),
    topicPrefix: Type.String({
      minLength: 1,
      default: 'rpm/v1',
      description: 'First part of every topic (SPEC §4). Default rpm/v1.',
    }),
    protocol: Type.Union([Type.Literal('auto'), Type.Literal('5'), Type.Literal('3.1.1')], {
      default: 'auto',
      description:
        'MQTT version: auto (MQTT 5, falling back to 3.1.1 if the broker refuses it), 5 or 3.1.1. ' +
        'Commands from central need MQTT 5.',
    }),
    clientId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description: 'MQTT client id. Default rpm-gateway-<site>-<gatewayId>.',
      }),
    ),
    username: Type.Optional(Type.String({ description: 'Broker user name (use ${ENV_VAR} for secrets).' })),
    password: Type.Optional(
      Type.String({ description: 'Broker password; put it in the environment: ${MQTT_PASSWORD}.' }),
    ),
    tls: Type.Optional(
      Type.Object(
        {
          ca: Type.Optional(
            Type.String({ description: 'PEM file of the CA that signed the broker’s certificate.' }),
          ),
          cert: Type.Optional(Type.String({ description: 'PEM file of this gateway’s client certificate.' })),
          key: Type.Optional(Type.String({ description: 'PEM file of this gateway’s private key.' })),
          rejectUnauthorized: Type.Boolean({
            default: true,
            description:
              'Refuse a broker whose certificate does not check out. Only set false on a test bench.',
          }),
        },
        { additionalProperties: false },
      ),
    ),
    keepaliveS: Type.Integer({
      minimum: 5,
      maximum: 3600,
      default: 30,
      description: 'MQTT keep-alive, seconds. Default 30.',
    }),
    commands: Type.Object(
      {
        allowedSenders: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description:
            'Sender ids allowed to command this gateway (MQTT 5 user property, see senderProperty). ' +
            'Empty: every command is refused. Restrict who may publish on …/cmd/# in the broker ACL too.',
        }),
        senderProperty: Type.String({
          minLength: 1,
          default: 'sender',
          description: 'Name of the MQTT 5 user property that carries the sender id. Default sender.',
        }),
        maxPayloadBytes: Type.Integer({
          minimum: 256,
          maximum: 1_048_576,
          default: 16_384,
          description: 'Largest command accepted, bytes; larger ones are refused. Default 16384.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export const OutboxSchema = Type.Object(
  {
    maxBytes: Type.Integer({
      minimum: 1_048_576,
      default: 268_435_456,
      description:
        'Disk budget of the event queue, bytes (default 256 MiB). When full, the oldest telemetry ' +
        'is dropped first, then the oldest ordinary events; alarms never.',
    }),
    maxMessageBytes: Type.Integer({
      minimum: 4096,
      maximum: 16_777_216,
      default: 262_144,
      description: 'Largest single event, bytes (default 256 KiB); larger ones are refused and counted.',
    }),
    inflight: Type.Integer({
      minimum: 1,
      maximum: 65_535,
      default: 128,
      description: 'Events sent to the broker and not yet acknowledged, at most. Default 128.',
    }),
  },
  { additionalProperties: false },
);

export const TelemetrySchema = Type.Object(
  {
    url: Type.String({
      pattern: '^https?://',
      description:
        'InfluxDB-compatible server (InfluxDB 2.x/3.x, VictoriaMetrics): http://host:8086. ' +
        'The gateway writes to its /api/v2/write endpoint.',
    }),
    token: Type.Optional(
      Type.String({ description: 'API token; put it in the environment: ${INFLUX_TOKEN}.' }),
    ),
    org: Type.String({ default: 'rpm', description: 'InfluxDB organisation. Default rpm.' }),
    bucket: Type.String({ default: 'rpm', description: 'InfluxDB bucket (database). Default rpm.' }),
    intervalS: Type.Integer({
      minimum: 1,
      maximum: 3600,
      default: 10,
      description: 'Seconds between telemetry points. Default 10.',
    }),
  },
  { additionalProperties: false },
);

export const N42ExportSchema = Type.Object(
  {
    dir: Type.String({
      minLength: 1,
      description: 'Directory where one ANSI N42.42 document per occupancy is written (<lane>-<seq>.n42).',
    }),
  },
  { additionalProperties: false },
);

/** The HTTP API and console (SPEC §6). Absent: the gateway serves no HTTP. */
export const HttpSchema = Type.Object(
  {
    host: Type.String({
      minLength: 1,
      default: '127.0.0.1',
      description:
        'Address to listen on. Default 127.0.0.1 (this machine only); 0.0.0.0 for the lane network.',
    }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'TCP port. Default 8080.' }),
    admin: Type.Optional(
      Type.Object(
        {
          username: Type.String({
            pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
            default: 'admin',
            description: 'The first admin, created on first start when there is no user yet. Default admin.',
          }),
          password: Type.Optional(
            Type.String({
              minLength: 12,
              description:
                'Its password (at least 12 characters); write ${RPM_GATEWAY_ADMIN_PASSWORD} to keep it in the ' +
                'environment. Without it the RPM_GATEWAY_ADMIN_PASSWORD variable is used. There is no default.',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    session: Type.Object(
      {
        idleMinutes: Type.Integer({
          minimum: 1,
          maximum: 1440,
          default: 30,
          description: 'Idle timeout. Default 30.',
        }),
        absoluteHours: Type.Integer({
          minimum: 1,
          maximum: 168,
          default: 12,
          description: 'Longest session, in hours (a shift). Default 12.',
        }),
        secureCookie: Type.Boolean({
          default: false,
          description: 'Mark the session cookie Secure (set when the console is served over HTTPS).',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    loginRateLimit: Type.Object(
      {
        max: Type.Integer({
          minimum: 1,
          maximum: 1000,
          default: 5,
          description: 'Login attempts per client address per window. Default 5.',
        }),
        windowSeconds: Type.Integer({
          minimum: 1,
          maximum: 3600,
          default: 60,
          description: 'The window. Default 60.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
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
    mqtt: Type.Optional(MqttSchema),
    outbox: Type.Optional(OutboxSchema),
    telemetry: Type.Optional(TelemetrySchema),
    n42: Type.Optional(N42ExportSchema),
    http: Type.Optional(HttpSchema),
  },
  { additionalProperties: false },
);

export type GatewayConfig = Static<typeof GatewayConfigSchema>;
export type LaneConfig = Static<typeof LaneSchema>;
export type HttpConfig = Static<typeof HttpSchema>;
export type ModbusOptions = Static<typeof ModbusOptionsSchema>;
export type ScannerConfig = Static<typeof ScannerSchema>;
export type MqttConfig = Static<typeof MqttSchema>;
export type OutboxConfig = Static<typeof OutboxSchema>;
export type TelemetryConfig = Static<typeof TelemetrySchema>;
