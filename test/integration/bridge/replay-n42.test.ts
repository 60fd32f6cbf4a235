/**
 * SPEC §5 `replay --n42 <dir>`: one ANSI N42.42 document per occupancy of a simulated daily file,
 * each valid against the NIST schema (xmllint; the schema stays in ../shared, never copied).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeDailyFile } from '../../../simulators/vm250/daily-file.js';
import { runCli } from '../../support/run-cli.js';

const XSD = resolve(import.meta.dirname, '../../../../shared/n42/n42.xsd');

describe('replay --n42', () => {
  it('writes one valid document per occupancy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replay-n42-'));
    const file = join(dir, 'lane-2016-06-01.txt');
    await writeDailyFile({ path: file, seed: 'n42', occupancies: 6 });
    const out = join(dir, 'n42');
    const r = await runCli(['replay', file, '--lane', 'lane-7', '--n42', out]);
    expect(r.code).toBe(0);
    const occupancies = r.stdout.split('\n').filter((l) => l.includes('"type":"occupancy"'));
    const docs = readdirSync(out).filter((f) => f.endsWith('.n42'));
    expect(docs.length).toBe(occupancies.length);
    expect(docs.length).toBeGreaterThan(0);
    for (const d of docs) expect(d).toMatch(/^lane-7-/);
    execFileSync('xmllint', ['--noout', '--schema', XSD, ...docs.map((d) => join(out, d))], {
      stdio: 'pipe',
    });
    const first = readFileSync(join(out, docs[0]!), 'utf8');
    expect(first).toContain('<RadInstrumentData xmlns="http://physics.nist.gov/N42/2011/N42"');
    expect(r.stderr).toContain(`${docs.length} N42 documents`);
  });
});
