import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';

const withScanner = (scanner: string) => `
site: bench
lanes:
  - id: lane-1
    driver: vm250
    address: tcp://127.0.0.1:1601
    scanner:
${scanner}
`;

describe('lane scanner configuration', () => {
  it('accepts the example and fills in the scanner defaults', async () => {
    const result = parseConfig(await readFile('config/gateway.example.yaml', 'utf8'), {});
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const scanner = result.config.lanes[0]!.scanner!;
    expect(scanner.uploadTokens).toEqual([]); // no default token: uploads refused until one is set
    expect(scanner.plc?.address).toBe('modbus-tcp://192.0.2.11:502?unitId=1');
    expect(scanner.fusion).toEqual({ beforeS: 30, afterS: 120 });
  });

  it('takes upload tokens from the environment', () => {
    const yaml = withScanner(`      inbox: ./scans
      uploadTokens: ['\${SCANNER_UPLOAD_TOKEN}']`);
    const result = parseConfig(yaml, { SCANNER_UPLOAD_TOKEN: 'a-token-of-at-least-16-chars' });
    expect(result.ok && result.config.lanes[0]!.scanner!.uploadTokens).toEqual([
      'a-token-of-at-least-16-chars',
    ]);
    expect(parseConfig(yaml, {}).ok).toBe(false); // a missing variable is a problem, not an empty token
  });

  it('needs only an inbox', () => {
    const result = parseConfig(withScanner('      inbox: ./scans'), {});
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const scanner = result.config.lanes[0]!.scanner!;
    expect(scanner.uploadTokens).toEqual([]);
    expect(scanner.fusion).toEqual({ beforeS: 30, afterS: 120 });
    expect(scanner.plc).toBeUndefined();
  });

  it('reports bad PLC addresses, short tokens and unknown map fields in words', () => {
    const result = parseConfig(
      withScanner(`      inbox: ./scans
      plc:
        address: tcp://127.0.0.1:502
        map:
          offsets: { comand: 9 }
      uploadTokens: [short]
      polarity: inverted`),
      {},
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const text = result.problems.map((p) => `${p.path} ${p.message}`).join('\n');
    expect(text).toContain('lanes[0].scanner.plc.address');
    expect(text).toContain('lanes[0].scanner.plc.map.offsets.comand');
    expect(text).toContain('lanes[0].scanner.uploadTokens[0] must be at least 16 characters long');
    expect(text).toContain('lanes[0].scanner.polarity');
  });

  it('checks a modbus PLC address beyond its scheme', () => {
    const result = parseConfig(
      withScanner(`      inbox: ./scans\n      plc:\n        address: modbus-tcp://host:99999`),
      {},
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.some((p) => p.path === 'lanes[0].scanner.plc.address')).toBe(true);
  });
});
