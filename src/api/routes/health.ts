/**
 * Detector health for technicians (SPEC §6): per lane the link, active faults, tamper, the last
 * background per channel against the lane's own levels, the counts of input the gateway could
 * not use, and its cargo scanner's PLC (link, fault, emergency stop, a block it cannot decode). Distinct from /healthz, which is the gateway process's own liveness.
 */
import { Type } from '@sinclair/typebox';
import type { ScannerPlcView } from '../../drivers/scanner/plc-driver.js';
import type { ApiPlugin } from '../type-provider.js';

const LaneHealth = Type.Object(
  {
    lane: Type.String(),
    state: Type.String(),
    connection: Type.String(),
    connectionDetail: Type.Union([Type.String(), Type.Null()]),
    activeFaults: Type.Array(Type.String()),
    tamper: Type.Boolean(),
    gammaBackgroundCps: Type.Union([Type.Array(Type.Number()), Type.Null()]),
    neutronBackgroundCps: Type.Union([Type.Array(Type.Number()), Type.Null()]),
    gammaFault: Type.String(),
    neutronFault: Type.String(),
    backgroundAt: Type.Union([Type.String(), Type.Null()]),
    badInput: Type.Record(Type.String(), Type.Integer()),
    unknownRecords: Type.Integer(),
    findings: Type.Array(Type.String(), { description: 'What a technician should look at, in words.' }),
  },
  { title: 'LaneHealth' },
);

/** The lane's cargo scanner PLC, in the same words as the detectors' findings. */
function scannerFindings(p: ScannerPlcView): string[] {
  const found: string[] = [];
  if (p.link === 'disconnected')
    found.push(`X-ray scanner PLC link down since ${p.since}${p.linkDetail ? `: ${p.linkDetail}` : ''}`);
  if (p.problem !== null)
    found.push(`X-ray scanner PLC status block not understood (${p.problem}): check the register map`);
  const s = p.status;
  if (s?.state === 'fault') found.push(`X-ray scanner fault, code ${s.faultCode}`);
  if (s?.emergencyStop) found.push('X-ray scanner in emergency stop');
  return found;
}

export const detectorHealthRoutes: ApiPlugin = (app, { ctx }) => {
  app.get(
    '/api/v1/detector-health',
    {
      schema: {
        tags: ['health'],
        summary: 'Detector health of every lane',
        response: {
          200: Type.Object({
            lanes: Type.Array(LaneHealth),
            counters: Type.Record(Type.String(), Type.Number()),
          }),
        },
      },
    },
    () => ({
      lanes: ctx.lanes.snapshots().map((s) => {
        const findings: string[] = [];
        if (s.connection !== 'connected')
          findings.push(`link ${s.connection}${s.connectionDetail ? `: ${s.connectionDetail}` : ''}`);
        for (const f of s.activeFaults) findings.push(`fault: ${f}`);
        if (s.tamper) findings.push('tamper: cabinet open or tamper switch active');
        if (s.background.gammaFault !== 'none') findings.push(`gamma background ${s.background.gammaFault}`);
        if (s.background.neutronFault !== 'none')
          findings.push(`neutron background ${s.background.neutronFault}`);
        const g = s.background.gammaCps;
        if (g !== null && g.length > 1) {
          const mean = g.reduce((a, b) => a + b, 0) / g.length;
          g.forEach((v, i) => {
            if (mean > 0 && v < 0.2 * mean)
              findings.push(
                `gamma channel ${s.gammaChannelNames[i] ?? i} reads ${v} cps (lane mean ${Math.round(mean)}): dead or disconnected?`,
              );
          });
        }
        const plc = ctx.scans?.lanes.find((l) => l.lane === s.id)?.plc ?? null;
        if (plc !== null) findings.push(...scannerFindings(plc));
        return {
          lane: s.id,
          state: s.state,
          connection: s.connection,
          connectionDetail: s.connectionDetail,
          activeFaults: s.activeFaults,
          tamper: s.tamper,
          gammaBackgroundCps: s.background.gammaCps,
          neutronBackgroundCps: s.background.neutronCps,
          gammaFault: s.background.gammaFault,
          neutronFault: s.background.neutronFault,
          backgroundAt: s.background.at,
          badInput: s.badInput,
          unknownRecords: s.unknownRecords,
          findings,
        };
      }),
      counters: ctx.counters.snapshot(),
    }),
  );
  return Promise.resolve();
};
