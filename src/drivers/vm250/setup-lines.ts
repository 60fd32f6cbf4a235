/**
 * VM-250 setup dump lines SG1 SG2 SG3 SN1 SN2 (SPEC §1.1 table). Fields are named per the
 * table; `***` (and a missing field) is null — an unknown value that does not cost the line;
 * a field that is not a plain number (`P`, `PP`, `1.10.1`) is kept as its string; fields the
 * table declares as codes (`1111` detectors online, `1010` algorithm, version letters and
 * firmware versions) are always strings so `0011` keeps its leading zeros.
 * Extra fields beyond the named ones are kept as `field6`, `field7`, …
 */
import type { DecodeResult, LineTime, SetupRecord, SetupTag } from './records.js';
import { parseLineTime } from './line-time.js';
import { looksLikeTime, malformed, parseDecimal, splitFields } from './count-lines.js';

type Kind = 'n' | 's';

/** Names and kinds (n = number when plain, s = always string) per tag, in wire order. */
export const SETUP_FIELDS: Readonly<Record<SetupTag, ReadonlyArray<readonly [string, Kind]>>> = {
  SG1: [
    ['highBackgroundFaultCps', 'n'],
    ['lowBackgroundFaultCps', 'n'],
    ['intervals', 'n'],
    ['occupancyHoldin', 'n'],
    ['nSigma', 'n'],
  ],
  SG2: [
    ['detectorsOnline', 's'],
    ['masterLld', 'n'],
    ['masterUld', 'n'],
    ['relay', 'n'],
    ['algorithm', 's'],
    ['versionSuffix', 's'],
  ],
  SG3: [
    ['slaveLld', 'n'],
    ['slaveUld', 'n'],
    ['backgroundTime', 'n'],
    ['backgroundSigma', 'n'],
    ['firmwareVersion', 's'],
  ],
  SN1: [
    ['highBackgroundFaultCps', 'n'],
    ['maxIntervals', 'n'],
    ['alpha', 'n'],
    ['zmax', 'n'],
    ['sequentialIntervals', 'n'],
    ['backgroundTime', 'n'],
  ],
  SN2: [
    ['masterLld', 'n'],
    ['masterUld', 'n'],
    ['slaveLld', 'n'],
    ['slaveUld', 'n'],
  ],
};

export const SETUP_TAGS: readonly SetupTag[] = ['SG1', 'SG2', 'SG3', 'SN1', 'SN2'];

export function isSetupTag(tag: string): tag is SetupTag {
  return tag === 'SG1' || tag === 'SG2' || tag === 'SG3' || tag === 'SN1' || tag === 'SN2';
}

/** Decode a setup line; the device fields are the ones before the (up to two) trailing times. */
export function decodeSetupLine(line: string, tag: SetupTag, comma: number): DecodeResult {
  const all = splitFields(line, comma);
  // Trailing time fields: at most two, only after the fourth device field.
  let deviceCount = all.length;
  let time: LineTime | null = null;
  for (let k = all.length - 1; k >= Math.max(4, all.length - 2); k--) {
    if (!looksLikeTime(all[k]!)) break;
    deviceCount = k;
  }
  for (let k = deviceCount; k < all.length && time === null; k++) time = parseLineTime(all[k]!);
  if (deviceCount < 1) return malformed(line, `${tag} setup line has no fields`);
  const fields = all.slice(0, deviceCount);
  const spec = SETUP_FIELDS[tag];
  const values: Record<string, number | string | null> = {};
  const width = Math.max(spec.length, fields.length);
  for (let k = 0; k < width; k++) {
    const [name, kind] = spec[k] ?? [`field${k + 1}`, 'n'];
    values[name] = setupValue(fields[k], kind);
  }
  return { type: 'setup', tag, values, fields, time };
}

function setupValue(raw: string | undefined, kind: Kind): number | string | null {
  if (raw === undefined) return null;
  const f = raw.trim();
  if (f === '' || f === '***') return null;
  if (kind === 's') return f;
  const v = parseDecimal(f);
  return Number.isNaN(v) ? f : v;
}

/** Encode a setup line from its raw fields (as given); from its values when no fields are kept. */
export function encodeSetupLine(r: SetupRecord): string {
  if (r.fields.length > 0) return `${r.tag},${r.fields.join(',')}`;
  const spec = SETUP_FIELDS[r.tag];
  const out = spec.map(([name]) => {
    const v = r.values[name];
    return v === null || v === undefined ? '***' : String(v);
  });
  return `${r.tag},${out.join(',')}`;
}
