/**
 * The console in a real browser (Debian's Chromium driven by playwright-core) against a gateway
 * started here with simulated VM-250 lanes over TCP: the acceptance path. Waits are for
 * conditions, never fixed sleeps. Set SCREENSHOTS_DIR to also write the README's screenshots.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/app/gateway.js';
import { validateConfig } from '../../src/config/load.js';
import { SystemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { startScannerPlcServer, type ScannerPlcServer } from '../../simulators/scanner/plc-server.js';
import { Vm250TcpServer } from '../../simulators/vm250/tcp-server.js';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN_PASSWORD = 'browser-test-admin-pw';
const PASSWORD = 'browser-test-user-pw';
const shots = process.env.SCREENSHOTS_DIR;

let dir: string;
let gateway: Gateway;
let base: string;
let browser: BrowserContext;
const sims: Vm250TcpServer[] = [];
let scanner: ScannerPlcServer | undefined;
/** The admin's API session from beforeAll (logins are rate limited: 5 a minute). */
let adminApi: Awaited<ReturnType<typeof apiAs>>;

async function apiAs(username: string, password: string) {
  const login = await fetch(`${base}api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  return async <T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> => {
    const res = await fetch(`${base}${path}`, {
      method: init.method ?? 'GET',
      headers: { cookie, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
}

/** How many alarm beeps the console has played (it counts them on <body data-beeps>). */
async function beeps(page: Page): Promise<number> {
  return Number((await page.locator('body').getAttribute('data-beeps')) ?? 0);
}

async function shot(page: Page, name: string, fullPage = false): Promise<void> {
  if (shots) await page.screenshot({ path: join(shots, `${name}.png`), fullPage });
}

async function login(page: Page, username: string, password: string): Promise<void> {
  await page.context().clearCookies();
  await page.goto(base);
  await page.getByLabel('User').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#whoami', { hasText: username }).waitFor();
}

describe.skipIf(!existsSync(CHROMIUM))('operator console in Chromium', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rpm-console-'));
    if (shots) await mkdir(shots, { recursive: true });
    // lane-1: a threat or NORM truck every few seconds; lane-2: clean traffic.
    const alarming = new Vm250TcpServer({ seed: 11, speed: 2, mix: { threat: 2, norm: 1 }, gapS: [1, 3] });
    const clean = new Vm250TcpServer({ seed: 12, speed: 2, mix: { background: 1 }, gapS: [2, 5] });
    sims.push(alarming, clean);
    const a = await alarming.start();
    const b = await clean.start();
    // lane-1 also has a cargo scanner (as in `rpm-gateway demo`): each vehicle start arms and
    // starts the simulated PLC, and a phantom lands in the lane's inbox about a second later.
    const inbox = join(dir, 'scanner-inbox');
    scanner = await startScannerPlcServer({ inbox, lane: 'lane-1', seed: 'browser', scanMs: 1000 });
    const validated = validateConfig({
      site: 'test',
      storage: { dir },
      lanes: [
        {
          id: 'lane-1',
          name: 'Truck lane 1',
          driver: 'vm250',
          address: `tcp://${a.host}:${a.port}`,
          scanner: { inbox, plc: { address: `modbus-tcp://${scanner.host}:${scanner.port}?unitId=1` } },
        },
        { id: 'lane-2', name: 'Car lane 2', driver: 'vm250', address: `tcp://${b.host}:${b.port}` },
      ],
      http: { host: '127.0.0.1', port: 0, admin: { password: ADMIN_PASSWORD } },
    });
    if (!validated.ok) throw new Error(JSON.stringify(validated.problems));
    gateway = createGateway(validated.config, {
      clock: new SystemClock(),
      logger: silentLogger,
      output: () => {},
      onLaneEvent: (event) => {
        if (event.kind !== 'occupancy-start' || event.lane !== 'lane-1' || !scanner) return;
        scanner.model.write(scanner.model.map.commands.arm);
        scanner.model.write(scanner.model.map.commands.start);
      },
    });
    await gateway.start();
    base = gateway.consoleUrl!;
    const admin = await apiAs('admin', ADMIN_PASSWORD);
    adminApi = admin;
    for (const [username, role] of [
      ['olga', 'operator'],
      ['tomas', 'technician'],
    ] as const) {
      await admin('api/v1/users', { method: 'POST', body: { username, role, password: PASSWORD } });
    }
    browser = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--autoplay-policy=no-user-gesture-required',
      ],
      viewport: { width: 1280, height: 860 },
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    for (const sim of sims) await sim.stop();
    await scanner?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('an operator sees an alarm arrive live, opens it, adjudicates it and sees the audit record', async () => {
    const page = browser.pages()[0] ?? (await browser.newPage());
    await page.goto(base);
    await shot(page, 'login');
    await login(page, 'olga', PASSWORD);
    await page.locator('[data-lane="lane-1"]').waitFor();
    await page.locator('#feed-state', { hasText: 'live' }).waitFor();

    // Once lane-1 knows its background, a new alarm on it arrives over the live feed: the toast
    // and the sound say so.
    await page
      .locator('[data-lane="lane-1"]', { hasText: /γ background: \d+ cps/ })
      .waitFor({ timeout: 30_000 });
    const toast = page.locator('#toast', { hasText: 'lane-1' });
    const beepsBefore = await beeps(page);
    if (await page.locator('#toast').isVisible())
      await page.locator('#toast').getByRole('button', { name: 'Dismiss' }).click();
    await toast.waitFor({ state: 'visible', timeout: 60_000 });
    expect(await beeps(page)).toBeGreaterThan(beepsBefore);
    await page.locator('#queue tr[data-alarm]').first().waitFor();
    await shot(page, 'lanes');

    await toast.getByRole('link', { name: 'Open' }).click();
    await page.locator('#adjudicate-form').waitFor();
    await expect.poll(() => page.locator('#profile-summary').textContent()).toMatch(/gamma samples/);
    expect(await page.locator('#assessment ul.reasons li').count()).toBeGreaterThan(0);
    await shot(page, 'alarm');

    await page.getByLabel('Adjudication code').selectOption('4');
    await page.getByLabel('Secondary inspection').selectOption('COMPLETED');
    await page.getByLabel('Notes').fill('granite tiles, RIID confirms K-40/Th-232');
    await page.getByRole('button', { name: 'Record adjudication' }).click();
    await page.locator('#adjudication', { hasText: 'NORM' }).waitFor();
    await page.locator('#audit-records tr', { hasText: 'alarm.adjudicate' }).waitFor();
    expect(await page.locator('#audit-records').textContent()).toMatch(
      /olga \(operator\).*alarm\.adjudicate.*code 4 NORM; secondary COMPLETED/s,
    );
    expect(await page.locator('#alarm-status').textContent()).toBe('adjudicated');
    await shot(page, 'adjudicated');

    // The keyboard reaches the pages and the next open alarm.
    await page.locator('#main').focus();
    await page.keyboard.press('1');
    await page.locator('#queue').waitFor();
    if ((await page.locator('#queue tr[data-alarm]').count()) > 0) {
      await page.keyboard.press('n');
      await page.locator('#alarm-panel').waitFor();
    }
    await page.keyboard.press('2');
    await page.locator('#main table tbody tr').first().waitFor();
    await shot(page, 'occupancies');
  });

  it('a technician changes a threshold and the lane decides its next vehicle with it', async () => {
    const page = browser.pages()[0] ?? (await browser.newPage());
    await login(page, 'tomas', PASSWORD);
    await page.keyboard.press('3');
    const nSigma = page.locator('#nsigma-lane-1');
    await nSigma.waitFor();
    await nSigma.fill('50');
    await page.locator('form[data-lane="lane-1"]').getByRole('button', { name: 'Save' }).click();
    await page.locator('#msg-lane-1', { hasText: 'Applied now: alarm' }).waitFor();
    await shot(page, 'devices');
    const changedAt = Date.now();

    // The next vehicle on lane-1 that starts after the change is decided at 50σ.
    const tech = await apiAs('tomas', PASSWORD);
    type Page1 = {
      items: Array<{ seq: number; start: string; gamma: { alarm: boolean; maxSigma: number } }>;
    };
    let seq = 0;
    await expect
      .poll(
        async () => {
          const list = await tech<Page1>('api/v1/occupancies?lane=lane-1&limit=5');
          const after = list.items.filter((o) => Date.parse(o.start) > changedAt + 500);
          seq = after.at(-1)?.seq ?? 0;
          return seq;
        },
        { timeout: 60_000, interval: 500 },
      )
      .toBeGreaterThan(0);
    const one = await tech<{
      occupancy: { gamma: { alarm: boolean; maxSigma: number } };
      profile: { nSigma: number };
    }>(`api/v1/occupancies/lane-1/${seq}`);
    expect(one.profile.nSigma).toBe(50);
    expect(one.occupancy.gamma.alarm).toBe(one.occupancy.gamma.maxSigma > 50);
    await page.goto(`${base}#/occupancy/lane-1/${seq}`);
    await page.locator('.legend', { hasText: 'threshold (50σ)' }).waitFor();

    await page.keyboard.press('4');
    await page.locator('#main h1', { hasText: 'Detector health' }).waitFor();
    await shot(page, 'health');
    await page.keyboard.press('5');
    await page.locator('#main td', { hasText: 'lane.config.update' }).first().waitFor();
    await shot(page, 'audit');
  });

  it('an occupancy with a cargo scan shows the X-ray overlay, its priority, regions and shielding suspects', async () => {
    const page = browser.pages()[0] ?? (await browser.newPage());
    // Any role may read scans: keep the session the page has (logins are rate limited).
    if (!(await page.locator('#whoami').isVisible())) await login(page, 'olga', PASSWORD);
    type ScanPage = { items: Array<{ scanId: string; occupancySeq: number | null; regions: number }> };
    // A lane-1 scan linked to its vehicle's occupancy (the scanner service links it once the
    // occupancy record arrives).
    let linked: ScanPage['items'][number] | undefined;
    await expect
      .poll(
        async () => {
          const list = await adminApi<ScanPage>('api/v1/scans?lane=lane-1&limit=20');
          linked = list.items.find((x) => x.occupancySeq !== null);
          return linked !== undefined;
        },
        { timeout: 90_000, interval: 500 },
      )
      .toBe(true);
    await page.goto(`${base}#/occupancy/lane-1/${linked!.occupancySeq}`);
    const item = page.locator(`#scan-panel [data-scan-id="${linked!.scanId}"]`);
    await item.waitFor();
    const img = item.locator('img');
    // The overlay really loaded (a broken image has no natural width).
    await page.waitForFunction(
      `(() => { const i = document.querySelector('#scan-panel img'); return !!i && i.complete && i.naturalWidth > 0; })()`,
    );
    expect(await img.getAttribute('src')).toBe(
      `/api/v1/scans/${encodeURIComponent(linked!.scanId)}/overlay.png`,
    );
    expect(await img.getAttribute('alt')).toMatch(/X-ray image of scan .* heat map and boxes/);
    expect(await item.locator('[data-priority]').textContent()).toMatch(/normal|elevated|HIGH|CRITICAL/);
    expect(await item.getByRole('heading', { name: /Shielding suspects \(\d+\)/ }).count()).toBe(1);
    expect(await item.getByRole('heading', { name: /Anomaly regions \(\d+\)/ }).count()).toBe(1);
    expect(await item.locator('.scan-regions li').count()).toBe(linked!.regions);
    // The overlay is reachable from the keyboard (its link opens it full size).
    await item.locator('a.scan-image').focus();
    expect(await page.evaluate("document.activeElement?.classList.contains('scan-image')")).toBe(true);
    await page.locator('#main').focus();
    if (await page.locator('#toast').isVisible())
      await page.locator('#toast').getByRole('button', { name: 'Dismiss' }).click();
    await shot(page, 'scan', true);
  }, 120_000);

  it("a lane tile shows its cargo scanner's PLC live, and a technician resets its fault from there", async () => {
    const page = browser.pages()[0] ?? (await browser.newPage());
    if (!(await page.locator('#whoami', { hasText: 'tomas' }).isVisible()))
      await login(page, 'tomas', PASSWORD);
    await page.goto(`${base}#/`);
    const line = page.locator('[data-lane="lane-1"] [data-scanner]');
    await line.waitFor();
    await expect.poll(() => line.getAttribute('data-scanner')).toMatch(/^(idle|ready|scanning)$/);
    expect(await line.textContent()).toMatch(/^X-ray: (idle|ready|scanning)/);
    // A lane without a scanner has no such line.
    expect(await page.locator('[data-lane="lane-2"] [data-scanner]').count()).toBe(0);

    scanner!.model.fault(42);
    const fault = page.locator('[data-lane="lane-1"] [data-scanner="fault"]', { hasText: 'fault code 42' });
    await fault.waitFor({ timeout: 15_000 });
    if (await page.locator('#toast').isVisible())
      await page.locator('#toast').getByRole('button', { name: 'Dismiss' }).click();
    await shot(page, 'scanner-fault');
    await fault.getByRole('button', { name: 'Reset fault' }).click();
    await page.locator('#toast', { hasText: 'lane-1 scanner: reset fault sent' }).waitFor();
    await page
      .locator('[data-lane="lane-1"] [data-scanner]:not([data-scanner="fault"])')
      .waitFor({ timeout: 15_000 });
    expect(scanner!.model.faultCode).toBe(0);
    // The command is in the audit log, with the state it was sent in.
    const audit = await adminApi<{ items: Array<{ actor: string; before: unknown; after: unknown }> }>(
      'api/v1/audit?action=scanner.command',
    );
    expect(audit.items[0]).toMatchObject({
      actor: 'tomas',
      before: { state: 'fault', faultCode: 42 },
      after: { command: 'reset' },
    });
  });
});
