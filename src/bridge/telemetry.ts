/**
 * Lane telemetry (SPEC §4): count rates, background, faults, speed and link state per lane, and
 * the outbox depth and broker link of the gateway, as InfluxDB line protocol (built with
 * @influxdata/influxdb-client's `Point`, millisecond timestamps). The aggregator is fed lane
 * events and read every interval; it keeps a handful of numbers per lane, nothing per sample.
 *
 * Measurements (VictoriaMetrics names them `<measurement>_<field>`):
 *   rpm_lane,site=…,lane=…  gamma_cps, neutron_cps (count rate over the interval, summed over
 *       channels; absent when no sample or background came), gamma_bg_cps, neutron_bg_cps,
 *       faults (active faults + tamper), speed_kph (last vehicle), link_up (1/0), occupied (1/0)
 *   rpm_gateway,site=…,gateway=…  outbox_rows, outbox_bytes, mqtt_connected (1/0)
 */
import { Point } from '@influxdata/influxdb-client';
import type { LaneEvent } from '../domain/lane-events.js';

interface LaneTally {
  gammaCounts: number;
  gammaSeconds: number;
  neutronCounts: number;
  neutronSeconds: number;
  gammaBg: number | null;
  neutronBg: number | null;
  faults: Set<string>;
  speedKph: number | null;
  linkUp: boolean;
  occupied: boolean;
}

const MS_SETTINGS = {
  convertTime: (v: string | number | Date | undefined) => (v === undefined ? undefined : String(v)),
};

export class TelemetryAggregator {
  private readonly lanes = new Map<string, LaneTally>();

  constructor(private readonly site: string) {}

  handle(e: LaneEvent): void {
    const t = this.tally(e.lane);
    switch (e.kind) {
      case 'sample': {
        const sum = e.counts.reduce((a, b) => a + b, 0);
        if (e.radiation === 'gamma') {
          t.gammaCounts += sum;
          t.gammaSeconds += e.intervalMs / 1000;
        } else {
          t.neutronCounts += sum;
          t.neutronSeconds += e.intervalMs / 1000;
        }
        t.linkUp = true;
        return;
      }
      case 'background': {
        const cps = e.cps.reduce((a, b) => a + b, 0);
        if (e.radiation === 'gamma') {
          t.gammaBg = cps;
          t.gammaCounts += cps;
          t.gammaSeconds += 1;
        } else {
          t.neutronBg = cps;
          t.neutronCounts += cps;
          t.neutronSeconds += 1;
        }
        t.linkUp = true;
        return;
      }
      case 'speed':
        t.speedKph = e.speedKph;
        return;
      case 'fault':
        if (e.active) t.faults.add(e.code);
        else t.faults.delete(e.code);
        return;
      case 'tamper':
        if (e.active) t.faults.add('tamper');
        else t.faults.delete('tamper');
        return;
      case 'connection':
        t.linkUp = e.state === 'connected';
        return;
      case 'occupancy-start':
        t.occupied = true;
        return;
      case 'occupancy-end':
        t.occupied = false;
        return;
      default:
        return;
    }
  }

  /** Line protocol for every lane seen, and the gateway; resets the rate accumulators. */
  lines(
    timeMs: number,
    gateway: { id: string; outboxRows: number; outboxBytes: number; mqttConnected: boolean },
  ): string[] {
    const out: string[] = [];
    const ts = String(Math.round(timeMs));
    for (const [lane, t] of this.lanes) {
      const p = new Point('rpm_lane').tag('site', this.site).tag('lane', lane).timestamp(ts);
      if (t.gammaSeconds > 0) p.floatField('gamma_cps', t.gammaCounts / t.gammaSeconds);
      if (t.neutronSeconds > 0) p.floatField('neutron_cps', t.neutronCounts / t.neutronSeconds);
      if (t.gammaBg !== null) p.floatField('gamma_bg_cps', t.gammaBg);
      if (t.neutronBg !== null) p.floatField('neutron_bg_cps', t.neutronBg);
      if (t.speedKph !== null) p.floatField('speed_kph', t.speedKph);
      p.intField('faults', t.faults.size)
        .intField('link_up', t.linkUp ? 1 : 0)
        .intField('occupied', t.occupied ? 1 : 0);
      const line = p.toLineProtocol(MS_SETTINGS);
      if (line) out.push(line);
      t.gammaCounts = t.gammaSeconds = t.neutronCounts = t.neutronSeconds = 0;
    }
    const g = new Point('rpm_gateway')
      .tag('site', this.site)
      .tag('gateway', gateway.id)
      .intField('outbox_rows', gateway.outboxRows)
      .intField('outbox_bytes', gateway.outboxBytes)
      .intField('mqtt_connected', gateway.mqttConnected ? 1 : 0)
      .timestamp(ts)
      .toLineProtocol(MS_SETTINGS);
    if (g) out.push(g);
    return out;
  }

  private tally(lane: string): LaneTally {
    let t = this.lanes.get(lane);
    if (!t) {
      t = {
        gammaCounts: 0,
        gammaSeconds: 0,
        neutronCounts: 0,
        neutronSeconds: 0,
        gammaBg: null,
        neutronBg: null,
        faults: new Set(),
        speedKph: null,
        linkUp: false,
        occupied: false,
      };
      this.lanes.set(lane, t);
    }
    return t;
  }
}
