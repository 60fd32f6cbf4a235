/**
 * The JSON sidecar the scanner workstation writes beside each scan's images (SPEC §1.3), its
 * schema defined once (TypeBox) and checked with every problem reported at once.
 *
 * ```json
 * { "scanId": "S-000123", "lane": "lane-1", "time": "2024-05-01T10:00:00Z",
 *   "files": { "high": "S-000123-high.png", "low": "S-000123-low.png" },
 *   "polarity": "transmission", "airValue": 60000, "darkValue": 100,
 *   "pixelPitchMm": 5, "energiesMv": { "high": 6, "low": 3.5 }, "containerId": "MSCU1234565" }
 * ```
 */
import { basename } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { GatewayError } from '../core/errors.js';
import type { ScanMeta } from './types.js';

const FileName = Type.String({ minLength: 1, maxLength: 255 });

/** A scan id: what the API can read back (`/api/v1/scans/{scanId}`) and a file name can carry. */
export const SCAN_ID_PATTERN = '^[A-Za-z0-9._:-]{1,128}$';

export const SidecarSchema = Type.Object(
  {
    scanId: Type.String({ pattern: SCAN_ID_PATTERN }),
    lane: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    time: Type.Optional(Type.String({ maxLength: 64 })),
    files: Type.Object({ high: FileName, low: Type.Optional(FileName) }, { additionalProperties: false }),
    polarity: Type.Optional(Type.Union([Type.Literal('transmission'), Type.Literal('attenuation')])),
    airValue: Type.Optional(Type.Number({ minimum: 1, maximum: 65535 })),
    darkValue: Type.Optional(Type.Number({ minimum: 0, maximum: 65535 })),
    pixelPitchMm: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1000 })),
    energiesMv: Type.Optional(
      Type.Object({ high: Type.Optional(Type.Number()), low: Type.Optional(Type.Number()) }),
    ),
    containerId: Type.Optional(Type.String({ maxLength: 32 })),
  },
  { additionalProperties: true },
);
export type Sidecar = Static<typeof SidecarSchema>;

export const MAX_SIDECAR_BYTES = 64 * 1024;

/** Parse and check a sidecar; SIDECAR_INVALID lists every problem. */
export function parseSidecar(
  text: string,
  name: string,
): { meta: ScanMeta; files: { high: string; low?: string } } {
  if (text.length > MAX_SIDECAR_BYTES)
    throw new GatewayError('SIDECAR_INVALID', `${name}: sidecar is larger than ${MAX_SIDECAR_BYTES} bytes`, {
      name,
    });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new GatewayError(
      'SIDECAR_INVALID',
      `${name}: sidecar is not valid JSON: ${(error as Error).message}`,
      { name },
      { cause: error },
    );
  }
  const problems = [...Value.Errors(SidecarSchema, value)].map((e) => `${e.path || '/'}: ${e.message}`);
  if (problems.length === 0) {
    const s = value as Sidecar;
    for (const f of [s.files.high, s.files.low])
      if (f !== undefined && (basename(f) !== f || f.startsWith('.')))
        problems.push(`/files: '${f}' must be a plain file name in the inbox`);
    if (s.time !== undefined && Number.isNaN(Date.parse(s.time)))
      problems.push(`/time: '${s.time}' is not a date-time`);
  }
  if (problems.length > 0)
    throw new GatewayError('SIDECAR_INVALID', `${name}: ${problems.join('; ')}`, { name, problems });
  const s = value as Sidecar;
  const meta: ScanMeta = {
    scanId: s.scanId,
    polarity: s.polarity ?? 'transmission',
    ...(s.lane !== undefined ? { lane: s.lane } : {}),
    ...(s.time !== undefined ? { time: Date.parse(s.time) } : {}),
    ...(s.airValue !== undefined ? { airValue: s.airValue } : {}),
    ...(s.darkValue !== undefined ? { darkValue: s.darkValue } : {}),
    ...(s.pixelPitchMm !== undefined ? { pixelPitchMm: s.pixelPitchMm } : {}),
    ...(s.energiesMv !== undefined ? { energiesMv: s.energiesMv } : {}),
    ...(s.containerId !== undefined ? { containerId: s.containerId } : {}),
  };
  return {
    meta,
    files: s.files.low !== undefined ? { high: s.files.high, low: s.files.low } : { high: s.files.high },
  };
}
