/**
 * A referral — a vehicle the gateway sends to INVESTIGATE without an alarm (in doubt) — in the
 * operator's alarm queue, in Chromium: raised through the real alarm store and API, marked
 * `referral` where an alarm shows its radiation.
 */
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, PASSWORD, referralRecord, type TestApi } from '../integration/api/harness.js';

const CHROMIUM = '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM))('a referral in the alarm queue', () => {
  let api: TestApi;
  let base: string;
  beforeAll(async () => {
    api = await createTestApi();
    api.record(referralRecord(90, Date.now() - 30_000));
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
