/** Which occupancy records raise an alarm in the gateway's alarm store (src/app/occupancy-alarms.ts). */
import { describe, expect, it } from 'vitest';
import { raiseInputOf } from '../../../src/app/occupancy-alarms.js';
import type { OccupancyRecord } from '../../../src/app/occupancy-record.js';

const record = (over: {
  gamma?: boolean;
  device?: boolean;
  disposition?: 'RELEASE' | 'INVESTIGATE';
}): OccupancyRecord =>
  ({
    type: 'occupancy',
    lane: 'lane-1',
    seq: 12,
    index: 40,
    end: '2024-05-01T10:00:05.000Z',
    gamma: { alarm: over.gamma ?? false },
    neutron: { alarm: false },
    device: { gammaAlarm: over.device ?? false, neutronAlarm: false },
    assessment: {
      category: 'threat',
      disposition: over.disposition ?? 'RELEASE',
      confidence: 0.4,
      probabilities: { background: 0.5, NORM: 0.05, medical: 0.05, threat: 0.4 },
      reasons: ['INVESTIGATE: a localized excess in the cargo, close to the alarm'],
    },
  }) as unknown as OccupancyRecord;

describe('alarms raised from occupancy records', () => {
  it("raises the gateway's and the device's alarms", () => {
    expect(raiseInputOf(record({ gamma: true }), 0)).toMatchObject({ by: 'gateway', occupancySeq: 12 });
    expect(raiseInputOf(record({ device: true }), 0)).toMatchObject({ by: 'device' });
  });

  it('raises a referral (INVESTIGATE with no alarm) as the gateway’s, so it reaches the queue', () => {
    const raised = raiseInputOf(record({ disposition: 'INVESTIGATE' }), 0);
    expect(raised).toMatchObject({
      by: 'gateway',
      raisedAt: Date.parse('2024-05-01T10:00:05.000Z'),
      snapshot: { disposition: 'INVESTIGATE', gammaAlarm: false, neutronAlarm: false },
    });
  });

  it('raises nothing for a released vehicle nobody alarmed on', () => {
    expect(raiseInputOf(record({}), 0)).toBeNull();
  });
});
