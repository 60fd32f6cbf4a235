/**
 * Detector health for technicians (SPEC §6): per lane the link, active faults, tamper, the last
 * background per channel against the lane's own levels, and the counts of input the gateway could
 * not use. Distinct from /healthz, which is the gateway process's own liveness.
 */
import { Type } from '@sinclair/typebox';
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
