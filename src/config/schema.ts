/**
 * The configuration schema, defined once (STYLE.md §10): it gives the TypeScript types, the
 * JSON Schema that `check-config` validates against, and the defaults the gateway runs with.
 * Every field carries a description, because the descriptions are what a technician reads.
 *
 * This module is the entry point: it holds the top level (site, log, storage, and which
 * sections there are) and re-exports the sections, which live one module each — lanes
 * (lane-schema.ts), a lane's scanner (scanner-schema.ts), the bridge's outputs
 * (bridge-schema.ts) and HTTP (http-schema.ts). Import from here.
 */
import { Type, type Static } from '@sinclair/typebox';
import { MqttSchema, N42ExportSchema, OutboxSchema, TelemetrySchema } from './bridge-schema.js';
import { HttpSchema } from './http-schema.js';
import { Identifier, LaneSchema } from './lane-schema.js';

export { AlarmSchema, ChannelOrderSchema, LaneSchema, ModbusOptionsSchema } from './lane-schema.js';
export type { LaneConfig, ModbusOptions } from './lane-schema.js';
export { ScannerPlcMapSchema, ScannerSchema } from './scanner-schema.js';
export type { ScannerConfig } from './scanner-schema.js';
export { MqttSchema, N42ExportSchema, OutboxSchema, TelemetrySchema } from './bridge-schema.js';
export type { MqttConfig, OutboxConfig, TelemetryConfig } from './bridge-schema.js';
export { HttpSchema } from './http-schema.js';
export type { HttpConfig } from './http-schema.js';

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
          description:
            'Directory for the gateway’s database (outbox, alarms and their history, audit, users, occupancy history) and scan pictures: a persistent disk.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    lanes: Type.Array(LaneSchema, { minItems: 1, description: 'The lanes this gateway serves.' }),
    classifier: Type.Optional(
      Type.Object(
        {
          model: Type.String({
            minLength: 1,
            description:
              'The alarm classifier (ONNX, built by train-classifier) that refines every lane’s category ' +
              'probabilities; its model card <name>.json must sit beside it and match its sha256. The ' +
              'safety rules hold over it. Relative to the working directory.',
          }),
        },
        { additionalProperties: false },
      ),
    ),
    mqtt: Type.Optional(MqttSchema),
    outbox: Type.Optional(OutboxSchema),
    telemetry: Type.Optional(TelemetrySchema),
    n42: Type.Optional(N42ExportSchema),
    http: Type.Optional(HttpSchema),
  },
  { additionalProperties: false },
);

export type GatewayConfig = Static<typeof GatewayConfigSchema>;
