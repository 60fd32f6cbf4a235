/**
 * The configuration of what leaves the gateway (src/bridge): the MQTT link to central command,
 * the outbox every event is committed to first, telemetry to an InfluxDB-compatible server, and
 * the N42.42 export. Each section is optional: absent, that output is off. Part of the schema
 * defined once in schema.ts (STYLE.md §10), which re-exports it: import from there.
 */
import { Type, type Static } from '@sinclair/typebox';

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

export type MqttConfig = Static<typeof MqttSchema>;
export type OutboxConfig = Static<typeof OutboxSchema>;
export type TelemetryConfig = Static<typeof TelemetrySchema>;
