import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, feedOccupancy, PASSWORD, referralRecord, type TestApi } from './harness.js';

let api: TestApi;

beforeAll(async () => {
  api = await createTestApi();
  feedOccupancy(api, 1);
});
afterAll(async () => {
  await api?.close();
});

describe('authentication', () => {
  it('refuses every API route without a session, except health, login and the console files', async () => {
    const spec = (
      await api.app.inject({
        method: 'GET',
        url: '/api/docs/json',
        headers: { cookie: await api.cookie('viewer') },
      })
    ).json<{
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    }>();
    const checked: string[] = [];
    for (const [path, methods] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const url = path
          .replace(/\{lane\}/g, 'lane-1')
          .replace(/\{seq\}/g, '1')
          .replace(/\{[^}]+\}/g, 'x1');
        const res = await api.app.inject({
          method: method.toUpperCase() as 'GET',
          url,
          payload: method === 'get' ? undefined : {},
        });
        const isPublic = Array.isArray(op.security) && op.security.length === 0;
        if (isPublic) {
          expect([200, 400, 503], `${method} ${path}`).toContain(res.statusCode);
        } else {
          expect(res.statusCode, `${method} ${path}`).toBe(401);
          expect(res.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
        }
        checked.push(`${method} ${path}`);
      }
    }
    expect(checked.length).toBeGreaterThan(20);
    expect((await api.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await api.app.inject({ url: '/api/docs' })).statusCode).toBe(401);
    expect((await api.app.inject({ url: '/metrics' })).statusCode).toBe(401);
    expect((await api.app.inject({ url: '/' })).statusCode).toBe(200);
  });

  it('refuses a wrong password and an unknown user alike, and rejects forged cookies and tokens', async () => {
    const wrong = await api.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'admin', password: 'nope' },
    });
    const unknown = await api.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'ghost', password: 'nope' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.json()).toEqual(wrong.json());
    expect(
      (await api.app.inject({ url: '/api/v1/lanes', headers: { cookie: 'rpmg_session=forged' } })).statusCode,
    ).toBe(401);
    expect(
      (await api.app.inject({ url: '/api/v1/lanes', headers: { authorization: 'Bearer rpmg_forged' } }))
        .statusCode,
    ).toBe(401);
  });

  it('sets an HttpOnly SameSite cookie, and API tokens work as bearer', async () => {
    const res = await api.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'viewer', password: PASSWORD },
    });
    expect(String(res.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);
    const created = await api.app.inject({
      method: 'POST',
      url: '/api/v1/auth/tokens',
      headers: { cookie: await api.cookie('technician') },
      payload: { name: 'prometheus' },
    });
    expect(created.statusCode).toBe(201);
    const { token } = created.json<{ token: string }>();
    const metrics = await api.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/rpm_gateway_lane_state\{lane="lane-1",state="alarm"\} 1/);
    expect(metrics.body).toMatch(/rpm_gateway_open_alarms\{lane="lane-1"\} 1/);
  });

  it('logs out', async () => {
    const res = await api.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'viewer', password: PASSWORD },
    });
    const cookie = String(res.headers['set-cookie']).split(';')[0]!;
    expect((await api.app.inject({ url: '/api/v1/auth/me', headers: { cookie } })).json()).toMatchObject({
      username: 'viewer',
    });
    await api.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie } });
    expect((await api.app.inject({ url: '/api/v1/auth/me', headers: { cookie } })).statusCode).toBe(401);
  });
});

describe('roles', () => {
  it('lets only operators and admins adjudicate, only technicians and admins configure, only admins manage users', async () => {
    const alarm = (
      await api.app.inject({
        url: '/api/v1/alarms?open=true',
        headers: { cookie: await api.cookie('viewer') },
      })
    ).json<{
      items: Array<{ id: string }>;
    }>().items[0]!;
    for (const role of ['viewer', 'technician'] as const) {
      const res = await api.app.inject({
        method: 'POST',
        url: `/api/v1/alarms/${alarm.id}/adjudication`,
        headers: { cookie: await api.cookie(role) },
        payload: { code: 4 },
      });
      expect(res.statusCode, role).toBe(403);
      expect(res.json()).toMatchObject({ code: 'FORBIDDEN' });
    }
    for (const role of ['viewer', 'operator'] as const) {
      const res = await api.app.inject({
        method: 'PATCH',
        url: '/api/v1/devices/lane-1/config',
        headers: { cookie: await api.cookie(role) },
        payload: { alarm: { nSigma: 5 } },
      });
      expect(res.statusCode, role).toBe(403);
    }
    expect(
      (await api.app.inject({ url: '/api/v1/users', headers: { cookie: await api.cookie('technician') } }))
        .statusCode,
    ).toBe(403);
    expect(
      (await api.app.inject({ url: '/api/v1/users', headers: { cookie: await api.cookie('admin') } }))
        .statusCode,
    ).toBe(200);
    expect(
      (await api.app.inject({ url: '/api/v1/audit', headers: { cookie: await api.cookie('viewer') } }))
        .statusCode,
    ).toBe(403);
  });
});

describe('validation', () => {
  it('answers out-of-range page offsets and occupancy numbers with 400, not a database error', async () => {
    const cookie = await api.cookie('viewer');
    for (const url of [
      '/api/v1/occupancies?offset=1e20',
      '/api/v1/occupancies?offset=99999999999999999999',
      '/api/v1/occupancies/lane-1/1e309',
    ]) {
      const res = await api.app.inject({ url, headers: { cookie } });
      expect(res.statusCode, url).toBe(400);
      expect(res.json(), url).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
  });

  it('answers malformed bodies with 400 and says what is wrong', async () => {
    const cookie = await api.cookie('technician');
    const bad = await api.app.inject({
      method: 'PATCH',
      url: '/api/v1/devices/lane-1/config',
      headers: { cookie },
      payload: { alarm: { nSigma: 0.2, nsigma: 3 } },
    });
    expect(bad.statusCode).toBe(400);
    const body = bad.json<{ code: string; message: string; details: Array<{ path: string }> }>();
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.message).toMatch(/body\.alarm\.nSigma must be >= 1/);
    expect(body.message).toMatch(/nsigma/);
    const json = await api.app.inject({
      method: 'PATCH',
      url: '/api/v1/devices/lane-1/config',
      headers: { cookie, 'content-type': 'application/json' },
      payload: '{"alarm": ',
    });
    expect(json.statusCode).toBe(400);
    expect(json.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    const semantic = await api.app.inject({
      method: 'PATCH',
      url: '/api/v1/devices/lane-1/config',
      headers: { cookie },
      payload: { address: 'modbus-tcp://127.0.0.1:502' },
    });
    expect(semantic.statusCode).toBe(400);
    expect(semantic.json()).toMatchObject({ code: 'CONFIG_INVALID' });
    expect(semantic.json<{ message: string }>().message).toMatch(
      /address .*vm250 lane needs tcp:\/\/ or serial:\/\//,
    );
    const code = await api.app.inject({
      method: 'POST',
      url: '/api/v1/alarms/X/adjudication',
      headers: { cookie: await api.cookie('operator') },
      payload: { code: 12 },
    });
    expect(code.statusCode).toBe(400);
    expect(code.json<{ message: string }>().message).toMatch(/body\.code must be <= 11/);
  });
});

describe('occupancies and alarms', () => {
  it('lists and filters occupancies and returns the count profile', async () => {
    const cookie = await api.cookie('viewer');
    const list = await api.app.inject({
      url: '/api/v1/occupancies?lane=lane-1&alarm=true&disposition=INVESTIGATE',
      headers: { cookie },
    });
    expect(list.json()).toMatchObject({ total: 1, items: [{ lane: 'lane-1', seq: 1 }] });
    const none = await api.app.inject({ url: '/api/v1/occupancies?alarm=false', headers: { cookie } });
    expect(none.json()).toMatchObject({ total: 0 });
    const one = (await api.app.inject({ url: '/api/v1/occupancies/lane-1/1', headers: { cookie } })).json<{
      profile: { gamma: { counts: number[][]; backgroundCps: number[] }; nSigma: number };
      alarm: { status: string };
    }>();
    expect(one.profile.gamma.counts).toHaveLength(30);
    expect(one.profile.gamma.counts[14]).toEqual([180, 182, 58, 61]);
    expect(one.profile.gamma.backgroundCps).toEqual([300, 310, 290, 305]);
    expect(one.profile.nSigma).toBe(6);
    expect(one.alarm.status).toBe('raised');
  });

  it('adjudicates with a SPEC §3 code and writes the audit record', async () => {
    const operator = await api.cookie('operator');
    const alarm = (
      await api.app.inject({ url: '/api/v1/alarms?open=true', headers: { cookie: operator } })
    ).json<{
      items: Array<{ id: string; version: number }>;
    }>().items[0]!;
    const res = await api.app.inject({
      method: 'POST',
      url: `/api/v1/alarms/${alarm.id}/adjudication`,
      headers: { cookie: operator },
      payload: {
        code: 4,
        secondaryInspection: 'COMPLETED',
        notes: 'granite tiles',
        expectedVersion: alarm.version,
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'adjudicated',
      adjudication: { code: 4, label: 'NORM', by: 'operator' },
    });
    const again = await api.app.inject({
      method: 'POST',
      url: `/api/v1/alarms/${alarm.id}/adjudication`,
      headers: { cookie: operator },
      payload: { code: 6 },
    });
    expect(again.statusCode).toBe(409);
    const audit = (
      await api.app.inject({ url: `/api/v1/audit?target=alarm/${alarm.id}`, headers: { cookie: operator } })
    ).json<{
      items: Array<{ actor: string; action: string; before: { status: string }; after: { status: string } }>;
    }>();
    expect(audit.items[0]).toMatchObject({
      actor: 'operator',
      action: 'alarm.adjudicate',
      before: { status: 'raised' },
      after: { status: 'adjudicated' },
    });
    const history = (
      await api.app.inject({ url: `/api/v1/alarms/${alarm.id}/history`, headers: { cookie: operator } })
    ).json<Array<{ action: string }>>();
    expect(history.map((h) => h.action)).toEqual(['raised', 'acknowledged', 'adjudicated']);
  });
});

describe('configuration', () => {
  it('applies an alarm threshold live, audits it, and keeps it across a restart', async () => {
    const cookie = await api.cookie('technician');
    const res = await api.app.inject({
      method: 'PATCH',
      url: '/api/v1/devices/lane-1/config',
      headers: { cookie },
      payload: { alarm: { nSigma: 4.5 } },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      live: ['alarm'],
      restartRequired: [],
      lane: { alarm: { nSigma: 4.5, neutronFalseAlarmProbability: 1e-6 } },
    });
    expect(api.liveApplied.at(-1)?.alarm.nSigma).toBe(4.5);
    const entry = (
      await api.app.inject({ url: '/api/v1/audit?action=lane.config.update', headers: { cookie } })
    ).json<{
      items: Array<{
        actor: string;
        before: { alarm: { nSigma: number } };
        after: { alarm: { nSigma: number } };
      }>;
    }>().items[0]!;
    expect(entry).toMatchObject({
      actor: 'technician',
      before: { alarm: { nSigma: 6 } },
      after: { alarm: { nSigma: 4.5 } },
    });
    const moved = await api.app.inject({
      method: 'PATCH',
      url: '/api/v1/devices/lane-1/config',
      headers: { cookie },
      payload: { address: 'tcp://127.0.0.1:1602' },
    });
    expect(moved.json()).toMatchObject({ live: [], restartRequired: ['address'] });
    // The next occupancy records the threshold it was decided with.
    feedOccupancy(api, 2);
    const profile = (
      await api.app.inject({ url: '/api/v1/occupancies/lane-1/2', headers: { cookie } })
    ).json<{ profile: { nSigma: number } }>();
    expect(profile.profile.nSigma).toBe(4.5);
    const verify = await api.app.inject({ url: '/api/v1/audit/verify', headers: { cookie } });
    expect(verify.json()).toEqual({ intact: true, firstBadId: null });
  });
});

describe('rate limit', () => {
  it('limits login attempts per client', async () => {
    const limited = await createTestApi({ loginMax: 3, loginWindowS: 60 });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await limited.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { username: 'admin', password: 'wrong' },
        });
        codes.push(res.statusCode);
      }
      expect(codes).toEqual([401, 401, 401, 429, 429]);
    } finally {
      await limited.close();
    }
  });
});

describe('referrals', () => {
  it('puts a vehicle referred to INVESTIGATE without an alarm in the queue, to be adjudicated', async () => {
    api.record(referralRecord(90, Date.now() - 30_000));
    const operator = await api.cookie('operator');
    const open = (
      await api.app.inject({ url: '/api/v1/alarms?open=true', headers: { cookie: operator } })
    ).json<{ items: Array<{ id: string; gammaAlarm: boolean; disposition: string; version: number }> }>();
    const referral = open.items.find((a) => a.id === 'lane-1:90');
    expect(referral).toMatchObject({ gammaAlarm: false, disposition: 'INVESTIGATE' });
    const closed = await api.app.inject({
      method: 'POST',
      url: '/api/v1/alarms/lane-1:90/adjudication',
      headers: { cookie: operator },
      payload: { code: 7, expectedVersion: referral!.version },
    });
    expect(closed.statusCode).toBe(200);
  });
});
