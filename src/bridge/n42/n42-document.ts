/**
 * One occupancy as an ANSI N42.42-2012 document (SPEC §4; namespace
 * http://physics.nist.gov/N42/2011/N42, root RadInstrumentData), so archived lanes open in
 * spectrum tools. Pure: the captured occupancy in, XML text out.
 *
 * Layout (element order follows the NIST schema's sequences):
 * - RadInstrumentInformation: the lane's RPM, class `Portal Monitor`, the gateway's version.
 * - RadDetectorInformation per channel: gamma channels `Gamma`/`PVT`, neutron channels
 *   `Neutron`/`He3`, named by their canonical role (masterUpper, …).
 * - RadItemInformation `vehicle`: the occupancy (gateway number, device index).
 * - Background RadMeasurements: the last gamma and neutron background reports before the
 *   occupancy, as counts in one second (they are counts per second).
 * - One Foreground RadMeasurement per sample, GrossCounts per detector of that radiation,
 *   OccupancyIndicator true, and the vehicle's speed (m/s, as N42 wants) as RadItemState.
 * - AnalysisResults: the device's and the gateway's verdicts; a RadAlarm per alarm.
 */
import type { BackgroundEvent, SampleEvent } from '../../domain/lane-events.js';
import type { CapturedOccupancy } from '../occupancy-capture.js';

export const N42_NAMESPACE = 'http://physics.nist.gov/N42/2011/N42';

const DEFAULT_GAMMA_NAMES_4 = ['masterUpper', 'masterLower', 'slaveLower', 'slaveUpper'];

export interface N42Verdict {
  readonly gammaAlarm: boolean;
  readonly neutronAlarm: boolean;
  readonly maxSigma?: number | null;
  readonly description?: string;
}

export interface N42Options {
  readonly site: string;
  /** Gamma channel names in canonical order; defaults by channel count. */
  readonly gammaChannelNames?: readonly string[];
  readonly instrument?: { readonly manufacturer?: string; readonly model?: string };
  readonly gatewayVersion: string;
  /** The gateway's decision (from the occupancy record), if any. */
  readonly gateway?: N42Verdict;
  /** Document UUID (RFC 4122 text); the caller supplies it so this stays pure. */
  readonly uuid: string;
  /** Document time, epoch ms. */
  readonly createdMs: number;
}

export function n42Document(c: CapturedOccupancy, o: N42Options): string {
  const gammaCount = Math.max(1, ...c.gamma.map((s) => s.counts.length), c.background.gamma?.cps.length ?? 0);
  const neutronCount = Math.max(
    1,
    ...c.neutron.map((s) => s.counts.length),
    c.background.neutron?.cps.length ?? 0,
  );
  const gammaIds = channelIds('gamma', gammaNames(gammaCount, o.gammaChannelNames));
  const neutronIds = channelIds(
    'neutron',
    Array.from({ length: neutronCount }, (_, i) => `tube${i + 1}`),
  );
  const x: string[] = [];
  x.push('<?xml version="1.0" encoding="UTF-8"?>');
  x.push(
    `<RadInstrumentData xmlns="${N42_NAMESPACE}" n42DocUUID="${esc(o.uuid)}" n42DocDateTime="${dt(o.createdMs)}">`,
  );
  x.push('<RadInstrumentDataCreatorName>rpm-gateway</RadInstrumentDataCreatorName>');
  x.push(
    `<RadInstrumentInformation id="instrument">` +
      `<RadInstrumentManufacturerName>${nonBlank(o.instrument?.manufacturer ?? 'Unknown')}</RadInstrumentManufacturerName>` +
      `<RadInstrumentIdentifier>${nonBlank(`${o.site}/${c.lane}`)}</RadInstrumentIdentifier>` +
      `<RadInstrumentModelName>${nonBlank(o.instrument?.model ?? 'Radiation portal monitor')}</RadInstrumentModelName>` +
      `<RadInstrumentDescription>${esc(`Lane ${c.lane} at ${o.site}, recorded by rpm-gateway`)}</RadInstrumentDescription>` +
      `<RadInstrumentClassCode>Portal Monitor</RadInstrumentClassCode>` +
      `<RadInstrumentVersion><RadInstrumentComponentName>rpm-gateway</RadInstrumentComponentName>` +
      `<RadInstrumentComponentVersion>${nonBlank(o.gatewayVersion)}</RadInstrumentComponentVersion></RadInstrumentVersion>` +
      `</RadInstrumentInformation>`,
  );
  for (const d of gammaIds) x.push(detector(d, 'Gamma', 'PVT'));
  for (const d of neutronIds) x.push(detector(d, 'Neutron', 'He3'));
  const index = c.end.deviceIndex === null ? '' : `, device index ${c.end.deviceIndex}`;
  x.push(
    `<RadItemInformation id="vehicle"><RadItemDescription>${esc(
      `Vehicle of occupancy ${c.seq}${index}${c.end.endedAbnormally ? `, ended abnormally (${c.end.reason})` : ''}`,
    )}</RadItemDescription></RadItemInformation>`,
  );
  if (c.background.gamma) x.push(background('background-gamma', c.background.gamma, gammaIds));
  if (c.background.neutron) x.push(background('background-neutron', c.background.neutron, neutronIds));
  const speedMps = c.speedKph === null || !Number.isFinite(c.speedKph) ? null : c.speedKph / 3.6;
  const samples = [...c.gamma, ...c.neutron].sort((a, b) => a.time - b.time);
  const measurementIds: string[] = [];
  samples.forEach((s, i) => {
    const id = `m${i + 1}`;
    measurementIds.push(id);
    x.push(foreground(id, s, s.radiation === 'gamma' ? gammaIds : neutronIds, speedMps));
  });
  x.push(analysis(c, o, gammaIds, neutronIds, measurementIds));
  x.push('</RadInstrumentData>');
  return x.join('\n') + '\n';
}

function gammaNames(count: number, names: readonly string[] | undefined): string[] {
  if (names && names.length === count) return [...names];
  if (count === 4) return DEFAULT_GAMMA_NAMES_4;
  return Array.from({ length: count }, (_, i) => `panel${i + 1}`);
}

/** xsd:ID values must be NCNames: letters, digits, - _ . and not starting with a digit. */
function channelIds(prefix: string, names: readonly string[]): string[] {
  return names.map((n) => `${prefix}-${n.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
}

function detector(id: string, category: string, kind: string): string {
  return (
    `<RadDetectorInformation id="${id}"><RadDetectorName>${esc(id)}</RadDetectorName>` +
    `<RadDetectorCategoryCode>${category}</RadDetectorCategoryCode><RadDetectorKindCode>${kind}</RadDetectorKindCode>` +
    `</RadDetectorInformation>`
  );
}

function gross(id: string, detectorId: string, liveS: number, counts: number): string {
  const value = Number.isFinite(counts) && counts >= 0 ? counts : 0;
  return (
    `<GrossCounts id="${id}" radDetectorInformationReference="${detectorId}"><LiveTimeDuration>${dur(liveS)}</LiveTimeDuration>` +
    `<CountData>${value}</CountData></GrossCounts>`
  );
}

function background(id: string, b: BackgroundEvent, ids: readonly string[]): string {
  // Background lines carry counts per second: one second's counts each.
  const counts = ids.map((d, i) => gross(`${id}-${i + 1}`, d, 1, b.cps[i] ?? 0)).join('');
  return (
    `<RadMeasurement id="${id}"><MeasurementClassCode>Background</MeasurementClassCode>` +
    `<StartDateTime>${dt(b.time - 1000)}</StartDateTime><RealTimeDuration>PT1S</RealTimeDuration>${counts}` +
    `<OccupancyIndicator>false</OccupancyIndicator></RadMeasurement>`
  );
}

function foreground(id: string, s: SampleEvent, ids: readonly string[], speedMps: number | null): string {
  const seconds = s.intervalMs / 1000;
  const counts = ids.map((d, i) => gross(`${id}-${i + 1}`, d, seconds, s.counts[i] ?? 0)).join('');
  const speed =
    speedMps === null
      ? ''
      : `<RadItemState radItemInformationReference="vehicle"><StateVector><SpeedValue>${round(speedMps, 4)}</SpeedValue></StateVector></RadItemState>`;
  return (
    `<RadMeasurement id="${id}" radItemInformationReferences="vehicle">` +
    `<MeasurementClassCode>Foreground</MeasurementClassCode><StartDateTime>${dt(s.time - s.intervalMs)}</StartDateTime>` +
    `<RealTimeDuration>${dur(seconds)}</RealTimeDuration>${counts}${speed}<OccupancyIndicator>true</OccupancyIndicator>` +
    `</RadMeasurement>`
  );
}

function analysis(
  c: CapturedOccupancy,
  o: N42Options,
  gammaIds: readonly string[],
  neutronIds: readonly string[],
  measurementIds: readonly string[],
): string {
  const alarms: string[] = [];
  const firstAlarm = (r: 'gamma' | 'neutron'): number | null =>
    (r === 'gamma' ? c.gamma : c.neutron).find((s) => s.deviceAlarm)?.time ?? null;
  const alarm = (
    category: 'Gamma' | 'Neutron',
    ids: readonly string[],
    who: string,
    at: number | null,
  ): string =>
    `<RadAlarm radDetectorInformationReferences="${ids.join(' ')}">` +
    (at === null ? '' : `<RadAlarmDateTime>${dt(at)}</RadAlarmDateTime>`) +
    `<RadAlarmCategoryCode>${category}</RadAlarmCategoryCode><RadAlarmDescription>${esc(who)}</RadAlarmDescription></RadAlarm>`;
  if (c.end.deviceGammaAlarm)
    alarms.push(alarm('Gamma', gammaIds, 'gamma alarm by the RPM (GA)', firstAlarm('gamma')));
  if (c.end.deviceNeutronAlarm)
    alarms.push(alarm('Neutron', neutronIds, 'neutron alarm by the RPM (NA)', firstAlarm('neutron')));
  const g = o.gateway;
  if (g?.gammaAlarm) {
    const sigma = g.maxSigma === undefined || g.maxSigma === null ? '' : ` (${round(g.maxSigma, 2)} sigma)`;
    alarms.push(alarm('Gamma', gammaIds, `gamma alarm by rpm-gateway${sigma}`, null));
  }
  if (g?.neutronAlarm) alarms.push(alarm('Neutron', neutronIds, 'neutron alarm by rpm-gateway', null));
  const verdict =
    alarms.length === 0
      ? 'No alarm.'
      : `${alarms.length} alarm(s).${g?.description ? ` ${g.description}` : ''}`;
  const refs = measurementIds.length > 0 ? ` radMeasurementReferences="${measurementIds.join(' ')}"` : '';
  return (
    `<AnalysisResults${refs}><AnalysisAlgorithmName>rpm-gateway gross-count decision</AnalysisAlgorithmName>` +
    `<AnalysisAlgorithmVersion><AnalysisAlgorithmComponentName>rpm-gateway</AnalysisAlgorithmComponentName>` +
    `<AnalysisAlgorithmComponentVersion>${esc(o.gatewayVersion)}</AnalysisAlgorithmComponentVersion></AnalysisAlgorithmVersion>` +
    `<AnalysisResultDescription>${esc(verdict)}</AnalysisResultDescription>${alarms.join('')}</AnalysisResults>`
  );
}

/** xsd:dateTime in UTC; a time outside the Date range becomes the epoch rather than invalid XML. */
function dt(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? '1970-01-01T00:00:00.000Z' : d.toISOString();
}

/** xsd:duration of a number of seconds, e.g. PT0.2S. */
function dur(seconds: number): string {
  return `PT${round(Math.max(0, seconds), 3)}S`;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * N42's NonBlankStringSimpleType (`[\w\d ]*[\w\d\S]+[\w\d ]*`) allows punctuation in only one
 * space-free run: where a value breaks that, its spaces become underscores.
 */
export function nonBlank(text: string): string {
  const t = text.trim();
  if (t === '') return 'Unknown';
  return esc(/^[\w ]*\S+[\w ]*$/.test(t) ? t : t.replace(/\s+/g, '_'));
}

/** Escape XML text and attribute values, dropping characters XML 1.0 cannot carry. */
export function esc(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex -- XML 1.0 allows exactly these control characters
      .replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
  );
}
