/**
 * The configuration of a lane's cargo scanner (`lanes[].scanner`, SPEC §1.3, §3 item 6): its
 * inbox, the PLC link and the PLC's register map where a site's differs from the project's,
 * upload tokens, the anomaly model and the occupancy fusion window. Its own module because the
 * PLC map alone is as long as the rest of a lane. Part of the schema defined once in schema.ts
 * (STYLE.md §10), which re-exports it: import from there.
 */
import { Type, type Static } from '@sinclair/typebox';

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

export type ScannerConfig = Static<typeof ScannerSchema>;
