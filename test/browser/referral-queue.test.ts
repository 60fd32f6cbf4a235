/**
 * A referral — a vehicle the gateway sends to INVESTIGATE without an alarm (in doubt) — in the
 * operator's alarm queue, in Chromium: raised through the real alarm store and API, marked
 * `referral` where an alarm shows its radiation.
 */
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alarmingOccupancy, createTestApi, PASSWORD, type TestApi } from '../integration/api/harness.js';

const CHROMIUM = '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM))('a referral in the alarm queue', () => {
  let api: TestApi;
  let base: string;
  beforeAll(async () => {
    api = await createTestApi();
    const { record } = alarmingOccupancy(90, Date.now() - 30_000);
    api.record({
      ...record,
      device: { gammaAlarm: false, neutronAlarm: false },
      gamma: { alarm: false, maxSigma: 5.6, backgroundCps: 1205 },
      assessment: {
        category: 'threat',
        disposition: 'INVESTIGATE',
        confidence: 0.5,
        probabilities: { background: 0.4, NORM: 0.05, medical: 0.05, threat: 0.5 },
        reasons: ['INVESTIGATE: a localized excess in the cargo, close to the alarm — in doubt, investigate'],
      },
    });
    base = await api.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('shows it to the operator, marked as a referral, with its assessment', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox'] });
    try {
      const page = await browser.newPage();
      await page.goto(base);
      await page.getByLabel('User').fill('operator');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      const row = page.locator('#queue tr[data-alarm="lane-1:90"]');
      await row.waitFor();
      const cells = await row.locator('td').allTextContents();
      expect(cells.slice(1, 5)).toEqual(['lane-1', '#90', 'referral', 'threat INVESTIGATE']);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
