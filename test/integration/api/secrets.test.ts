import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDACTED } from '../../../src/config/redact.js';
import { createTestApi, type TestApi } from './harness.js';

const TOKEN = 'scanner-secret-upload-token';
let api: TestApi;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rpm-secrets-'));
  api = await createTestApi({}, { scanner: { inbox: join(dir, 'scans'), uploadTokens: [TOKEN] } });
});
afterAll(async () => {
  await api?.close();
  await rm(dir, { recursive: true, force: true });
});

const tokensNow = (): readonly string[] => api.ctx.lanes.config().lanes[0]!.scanner!.uploadTokens;

describe("a lane's upload tokens", () => {
  it('never appear in the device views, the change responses or the audit trail', async () => {
    const viewer = await api.cookie('viewer');
    const devices = await api.app.inject({ url: '/api/v1/devices', headers: { cookie: viewer } });
    expect(devices.statusCode).toBe(200);
    expect(devices.body).not.toContain(TOKEN);
    expect(
      devices.json<Array<{ config: { scanner: { uploadTokens: string[] } } }>>()[0]!.config.scanner
        .uploadTokens,
    ).toEqual([REDACTED]);

    const technician = await api.cookie('technician');
    const patched = await api.app.inject({
      method: 'PATCH',
      url: '/api/v1/devices/lane-1/config',
      headers: { cookie: technician },
      payload: { alarm: { nSigma: 5 } },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.body).not.toContain(TOKEN);
    const audit = await api.app.inject({ url: '/api/v1/audit', headers: { cookie: technician } });
    expect(audit.body).toContain('lane.config.update');
    expect(audit.body).not.toContain(TOKEN);
    expect(tokensNow()).toEqual([TOKEN]);
    // One scanner setting alone: the rest of the scanner section (tokens, fusion) stays.
    const polarity = await api.app.inject({
      method: 'PATCH',
      url: '/api/v1/devices/lane-1/config',
      headers: { cookie: technician },
      payload: { scanner: { polarity: 'attenuation' } },
    });
    expect(polarity.statusCode).toBe(200);
    expect(api.ctx.lanes.config().lanes[0]!.scanner).toMatchObject({
      polarity: 'attenuation',
      uploadTokens: [TOKEN],
      fusion: { beforeS: 30, afterS: 120 },
    });
  });

  it('are kept when a whole configuration comes back with them redacted, and replaced by new ones', async () => {
    const cookie = await api.cookie('technician');
    const shown = (await api.app.inject({ url: '/api/v1/devices/lane-1', headers: { cookie } })).json<{
      config: Record<string, unknown>;
    }>().config;
    const put = (config: Record<string, unknown>) =>
      api.app.inject({
        method: 'PUT',
        url: '/api/v1/devices/lane-1/config',
        headers: { cookie },
        payload: config,
      });

    const same = await put({ ...shown, name: 'Lane one, renamed' });
    expect(same.statusCode).toBe(200);
    expect(tokensNow()).toEqual([TOKEN]);

    const scanner = shown['scanner'] as Record<string, unknown>;
    const mixed = await put({
      ...shown,
      scanner: { ...scanner, uploadTokens: [REDACTED, 'another-new-upload-token'] },
    });
    expect(mixed.statusCode).toBe(400);
    expect(mixed.json()).toMatchObject({ code: 'CONFIG_INVALID' });
    expect(tokensNow()).toEqual([TOKEN]);
    const replaced = await put({
      ...shown,
      scanner: { ...scanner, uploadTokens: ['a-brand-new-upload-token'] },
    });
    expect(replaced.statusCode).toBe(200);
    expect(tokensNow()).toEqual(['a-brand-new-upload-token']);
  });
});
