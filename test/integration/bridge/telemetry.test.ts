/**
 * SPEC §4 telemetry: count rates, background, faults, speed, link state and outbox depth written
 * with @influxdata/influxdb-client to an InfluxDB-compatible /api/v2/write (VictoriaMetrics from
 * Debian), buffered durably through the outbox while the store is down.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { VictoriaMetrics } from '../../support/victoria-metrics.js';
import { sleep, waitFor } from '../../support/wait-for.js';
import { occupancyEvents } from '../../unit/bridge/fixtures.js';
import { Mosquitto } from '../../support/mosquitto.js';
import { makeBridge, settings } from './harness.js';

describe('telemetry to VictoriaMetrics', () => {
  const vm = new VictoriaMetrics();
  const broker = new Mosquitto();
  afterAll(async () => {
    await vm.dispose();
    await broker.dispose();
  });

  it('buffers while the store is down and writes every point once it is up', async () => {
    await broker.start();
    vm.port = await (await import('../../support/mosquitto.js')).freePort();
    const { bridge } = makeBridge(
      settings(broker.url, { telemetry: { url: vm.url, org: 'rpm', bucket: 'rpm', intervalS: 1 } }),
    );
    await bridge.start();
    for (const e of occupancyEvents('lane-1', 1, { gammaSamples: 10 })) bridge.laneEvent(e);
    // The store is not running yet: telemetry waits in the outbox.
    await waitFor(() => bridge.outboxStore.countByClass().telemetry >= 2, {
      what: 'telemetry queued',
      timeoutMs: 15_000,
    });
    await vm.start();
    await waitFor(() => bridge.outboxStore.countByClass().telemetry === 0, {
      what: 'telemetry written',
      timeoutMs: 20_000,
    });

    // waitFor's probe is synchronous: poll the export API by hand.
    let series = await vm.export('{__name__=~"rpm_.*"}');
    for (let i = 0; i < 100 && !series.some((x) => x.metric.__name__ === 'rpm_lane_gamma_cps'); i++) {
      await sleep(200);
      series = await vm.export('{__name__=~"rpm_.*"}');
    }
    const names = new Set(series.map((s) => s.metric.__name__));
    for (const n of [
      'rpm_lane_gamma_cps',
      'rpm_lane_gamma_bg_cps',
      'rpm_lane_link_up',
      'rpm_lane_speed_kph',
      'rpm_gateway_outbox_rows',
    ]) {
      expect(names).toContain(n);
    }
    const bg = series.find((s) => s.metric.__name__ === 'rpm_lane_gamma_bg_cps')!;
    expect(bg.metric).toMatchObject({ lane: 'lane-1', site: 'port-alpha' });
    expect(bg.values[0]).toBe(800 + 810 + 790 + 805);
    const speed = series.find((s) => s.metric.__name__ === 'rpm_lane_speed_kph')!;
    expect(speed.values[0]).toBe(8.1);
    await bridge.stop();
  }, 60_000);
});
