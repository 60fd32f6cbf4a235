/**
 * CloudEvents 1.0 envelopes, structured JSON mode (SPEC §4). Pure: the outbox hands in the id
 * and the per-source sequence it assigns inside its commit transaction.
 *
 * `source` is `urn:rpm-gateway:<site>:<lane>`; gateway-wide events use the lane `gateway`.
 * `sequence` counts per source from 1 as a decimal string (CloudEvents' sequence extension is
 * a string); consumers detect gaps by it and de-duplicate by `id`.
 */
export const EVENT_TYPES = [
  'rpm.occupancy.completed',
  'rpm.alarm.raised',
  'rpm.alarm.acknowledged',
  'rpm.alarm.adjudicated',
  'rpm.device.fault',
  'rpm.device.tamper',
  'rpm.device.connection',
  'imaging.scan.analyzed',
  // This project's addition: a scan analyzed before its vehicle's occupancy record, now linked.
  'imaging.scan.linked',
  // This project's addition: the lane's scanner PLC changed state or lost / regained its link.
  'imaging.scanner.status',
  'lane.state.changed',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/**
 * How the outbox treats an event under its disk budget (SPEC §4: "the oldest telemetry goes
 * first, alarms never"): `telemetry` is evicted first, then `event` (oldest first, leaving a
 * sequence gap consumers can see); `alarm` is never evicted.
 */
export type DeliveryClass = 'alarm' | 'event' | 'telemetry';

export interface CloudEvent<T = unknown> {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly time: string;
  readonly subject: string;
  readonly sequence: string;
  readonly datacontenttype: 'application/json';
  readonly data: T;
}

export function eventSource(site: string, lane: string): string {
  return `urn:rpm-gateway:${site}:${lane}`;
}

export interface EnvelopeFields {
  readonly id: string;
  readonly source: string;
  readonly type: string;
  /** Epoch milliseconds of the happening (not of publication). */
  readonly time: number;
  readonly subject: string;
  readonly sequence: number;
}

/**
 * The envelope as JSON text. `dataJson` is the already-serialized data (the outbox serializes
 * data once, when the event is queued, so its size is known before the commit).
 */
export function envelopeJson(fields: EnvelopeFields, dataJson: string): string {
  return (
    `{"specversion":"1.0","id":"${fields.id}","source":${JSON.stringify(fields.source)},` +
    `"type":${JSON.stringify(fields.type)},"time":"${rfc3339(fields.time)}",` +
    `"subject":${JSON.stringify(fields.subject)},"sequence":"${fields.sequence}",` +
    `"datacontenttype":"application/json","data":${dataJson}}`
  );
}

/** RFC 3339 UTC with milliseconds; an invalid time falls back to the epoch rather than throwing. */
export function rfc3339(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? new Date(0).toISOString() : d.toISOString();
}

/** Check the shape of an incoming envelope (used by the README-following subscriber test and tools). */
export function isCloudEvent(value: unknown): value is CloudEvent {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return (
    v.specversion === '1.0' &&
    typeof v.id === 'string' &&
    typeof v.source === 'string' &&
    typeof v.type === 'string' &&
    typeof v.time === 'string' &&
    typeof v.sequence === 'string' &&
    /^[1-9][0-9]*$/.test(v.sequence)
  );
}
