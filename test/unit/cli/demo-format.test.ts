import { describe, expect, it } from 'vitest';
import type { OccupancyRecord } from '../../../src/app/occupancy-record.js';
import { formatOccupancy } from '../../../src/cli/commands/demo.js';

const record = (over: Partial<OccupancyRecord> = {}): OccupancyRecord => ({
  type: 'occupancy',
  lane: 'lane-2',
  seq: 1,
  index: 1,
  continuation: false,
  partial: false,
  start: '2026-11-22T10:00:00.000Z',
  end: '2026-11-22T10:00:01.300Z',
  durationS: 1.3,
  endedAbnormally: false,
  endReason: 'device-end',
  speedKph: 9.9,
  samples: { gamma: 7, neutron: 7 },
  device: { gammaAlarm: false, neutronAlarm: false },
  gamma: { alarm: false, maxSigma: 3.53, backgroundCps: 3679 },
  neutron: { alarm: false, maxCounts: 20, backgroundCps: 10 },
  assessment: {
    category: 'background',
    disposition: 'INVESTIGATE',
    confidence: 0.5,
    probabilities: { background: 0.5, NORM: 0.1, medical: 0.1, threat: 0.3 },
    reasons: [
      'no alarm: gamma peak 3.5σ (alarm at 6σ), neutron peak 20 counts',
      'INVESTIGATE: no background and no look-back: the baseline is the occupancy itself',
    ],
  },
  ...over,
});

describe('the demo line of an occupancy', () => {
  it('says why when the gateway investigates without an alarm of its own', () => {
    const line = formatOccupancy(record());
    expect(line).toContain('gateway: INVESTIGATE background  (no background and no look-back');
  });

  it('adds nothing to a release, and keeps one gap before an abnormal end', () => {
    const released = record({
      endedAbnormally: true,
      endReason: 'link-lost',
      assessment: { ...record().assessment, disposition: 'RELEASE', reasons: ['no alarm'] },
    });
    expect(formatOccupancy(released)).toMatch(/gateway: RELEASE background {2}\(ended: link-lost\)$/);
  });

  it('says a patient was named below the alarm', () => {
    const patient = record({
      gamma: { alarm: false, maxSigma: 5.21, backgroundCps: 1205 },
      assessment: { ...record().assessment, category: 'medical', disposition: 'RELEASE' },
    });
    expect(formatOccupancy(patient)).toMatch(/gateway: RELEASE medical {2}\(γ 5\.2σ, below the alarm\)$/);
  });
});
