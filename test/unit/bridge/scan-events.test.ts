/** Scanner output records → imaging.scan.analyzed / imaging.scan.linked CloudEvents (SPEC §4, docs/events.md). */
import { describe, expect, it } from 'vitest';
import { envelopeJson, EVENT_TYPES, isCloudEvent } from '../../../src/bridge/envelope.js';
import { isScanRecord, scanMessage, type ScanRecordInput } from '../../../src/bridge/event-mapper.js';
import { topicTree } from '../../../src/bridge/topics.js';
import { T0 } from './fixtures.js';

const fusion = {
  scanId: 'scan-1',
  lane: 'lane-1',
  occupancySeq: 7,
  priority: 'high',
  raised: true,
  reasons: ['gamma alarm and a shielding suspect in cargo'],
};

/** What src/app/scanner-service.ts writes through the gateway's output. */
const analyzed: ScanRecordInput = {
  type: 'imaging.scan.analyzed',
  scanId: 'scan-1',
  lane: 'lane-1',
  time: '2024-05-01T10:00:01.000Z',
  image: { width: 1024, height: 512, energies: ['high'] },
  model: { id: 'xray-anomaly-v1', sha256: 'ab', opset: 17 },
  regions: [{ x: 10, y: 20, width: 30, height: 40, score: 0.9 }],
  shieldingSuspects: [{ x: 1, y: 2, width: 3, height: 4, score: 1, opaqueFraction: 0.8, areaPx: 9 }],
  maxScore: 0.9,
  timings: { decodeMs: 1, preprocessMs: 1, inferenceMs: 1, postprocessMs: 1, shieldingMs: 1, totalMs: 5 },
  sources: ['scan-1.png'],
  fusion,
};

describe('scan events', () => {
  it('maps imaging.scanner.status (a PLC change) to an ordinary event on the lane, at the change time', () => {
    const record: ScanRecordInput = {
      type: 'imaging.scanner.status',
      lane: 'lane-1',
      time: '2024-05-01T10:00:02.000Z',
      link: 'disconnected',
      linkDetail: 'connect ECONNREFUSED 127.0.0.1:502; retrying in 1000 ms',
      status: null,
      since: '2024-05-01T10:00:02.000Z',
    };
    expect(isScanRecord(record)).toBe(true);
    const m = scanMessage(record, T0 + 99_000);
    if (m === null || m.kind !== 'event') throw new Error('no event');
    expect(m).toMatchObject({
      type: 'imaging.scanner.status',
      lane: 'lane-1',
      time: T0 + 2000,
      class: 'event',
    });
    const { type: _type, ...fields } = record;
    expect(m.data).toEqual(fields);
    expect(EVENT_TYPES).toContain('imaging.scanner.status');
  });

  it('maps imaging.scan.analyzed to its CloudEvent on the lane, at the scan time, with the record as data', () => {
    const m = scanMessage(analyzed, T0 + 99_000);
    expect(m).not.toBeNull();
    if (m === null || m.kind !== 'event') throw new Error('no event');
    expect(m.type).toBe('imaging.scan.analyzed');
    expect(m.lane).toBe('lane-1');
    expect(m.time).toBe(T0 + 1000);
    expect(m.class).toBe('alarm'); // raised priority: never evicted
    const { type: _type, ...fields } = analyzed;
    expect(m.data).toEqual(fields);
    expect(m.data).not.toHaveProperty('type');
    // As published: topic and envelope.
    expect(topicTree('port-alpha', 'rpm/v1').event(m.lane, m.type)).toBe(
      'rpm/v1/port-alpha/lane-1/events/imaging.scan.analyzed',
    );
    const envelope = JSON.parse(
      envelopeJson(
        {
          id: '01HWQ3J8V5K2M9X7P4R6T1Y0ZB',
          source: 'urn:rpm-gateway:port-alpha:lane-1',
          type: m.type,
          time: m.time,
          subject: m.lane,
          sequence: 3,
        },
        JSON.stringify(m.data),
      ),
    ) as Record<string, unknown>;
    expect(isCloudEvent(envelope)).toBe(true);
    expect(envelope.type).toBe('imaging.scan.analyzed');
    expect(envelope.time).toBe('2024-05-01T10:00:01.000Z');
  });

  it('maps imaging.scan.linked; a normal-priority scan is an ordinary event; no time → now', () => {
    const linked: ScanRecordInput = {
      type: 'imaging.scan.linked',
      scanId: 'scan-2',
      lane: 'lane-2',
      time: null,
      fusion: { ...fusion, scanId: 'scan-2', lane: 'lane-2', priority: 'normal', raised: false, reasons: [] },
    };
    const m = scanMessage(linked, T0);
    if (m === null || m.kind !== 'event') throw new Error('no event');
    expect(m).toMatchObject({ type: 'imaging.scan.linked', lane: 'lane-2', time: T0, class: 'event' });
    expect(m.data).toEqual({ scanId: 'scan-2', lane: 'lane-2', time: null, fusion: linked.fusion });
    expect(EVENT_TYPES).toContain('imaging.scan.linked');
  });

  it('recognizes only scanner records, and drops a scan without a lane', () => {
    expect(isScanRecord({ type: 'imaging.scan.analyzed' })).toBe(true);
    expect(isScanRecord({ type: 'imaging.scan.linked' })).toBe(true);
    expect(isScanRecord({ type: 'occupancy' })).toBe(false);
    expect(isScanRecord({})).toBe(false);
    expect(scanMessage({ ...analyzed, lane: null }, T0)).toBeNull();
    expect(scanMessage({ ...analyzed, time: 'not a time' }, T0)).toMatchObject({ time: T0 });
  });
});
