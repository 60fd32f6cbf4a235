import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { n42Document, esc } from '../../../src/bridge/n42/n42-document.js';
import { OccupancyCapture, type CapturedOccupancy } from '../../../src/bridge/occupancy-capture.js';
import { occupancyEvents } from './fixtures.js';

// CI has shared/ beside the repository (SPEC: never copy the schema).
const XSD = resolve(import.meta.dirname, '../../../../shared/n42/n42.xsd');

function capture(events = occupancyEvents()): CapturedOccupancy {
  const c = new OccupancyCapture('lane-1');
  let done: CapturedOccupancy | null = null;
  for (const e of events) done = c.handle(e) ?? done;
  return done!;
}

function validate(xml: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'n42-'));
  const file = join(dir, 'doc.n42');
  writeFileSync(file, xml);
  // Throws with xmllint's complaint when the document does not validate.
  execFileSync('xmllint', ['--noout', '--schema', XSD, file], { stdio: 'pipe' });
}

const base = {
  site: 'port-alpha',
  gatewayVersion: '0.1.0',
  uuid: '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
  createdMs: 0,
};

describe('N42.42 export', () => {
  it('an alarming occupancy validates against the NIST schema, with one measurement per sample', () => {
    const c = capture(occupancyEvents('lane-1', 7, { gammaSamples: 12, alarmFrom: 6, neutronAlarm: true }));
    const xml = n42Document(c, {
      ...base,
      gateway: { gammaAlarm: true, neutronAlarm: false, maxSigma: 9.3 },
    });
    validate(xml);
    expect(xml).toContain('xmlns="http://physics.nist.gov/N42/2011/N42"');
    expect(xml.match(/<RadMeasurement /g)).toHaveLength(12 + 2 + 2); // gamma + neutron samples + 2 backgrounds
    expect(xml.match(/<GrossCounts /g)!.length).toBe(16 * 4);
    expect(xml).toContain('<SpeedValue>2.25</SpeedValue>'); // 8.1 km/h in m/s
    expect(xml.match(/<RadAlarm /g)).toHaveLength(3); // device gamma, device neutron, gateway gamma
    expect(xml).toContain('<RadDetectorKindCode>He3</RadDetectorKindCode>');
    expect(xml).toContain('<OccupancyIndicator>true</OccupancyIndicator>');
  });

  it('a quiet occupancy, a Modbus lane (1 + 1 channels) and hostile text still validate', () => {
    validate(n42Document(capture(), base));
    const modbus = occupancyEvents('lane&<3>', 1).map((e) =>
      e.kind === 'sample'
        ? { ...e, counts: [e.counts[0]!] }
        : e.kind === 'background'
          ? { ...e, cps: [e.cps[0]!] }
          : e,
    );
    const xml = n42Document(capture(modbus), { ...base, site: 'a"b\u0001' });
    validate(xml);
    expect(xml).toContain('gamma-panel1');
  });

  it('an occupancy with no sample at all (ended on link loss) validates', () => {
    const events = occupancyEvents().filter((e) => e.kind !== 'sample' && e.kind !== 'background');
    validate(n42Document(capture(events), base));
  });

  it('escapes XML', () => {
    expect(esc('a<b>&"c"\u0000')).toBe('a&lt;b&gt;&amp;&quot;c&quot;');
  });
});
