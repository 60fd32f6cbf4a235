/**
 * A lane's cargo scanner PLC commanded from the console (SPEC §1.3: status and control over
 * Modbus). `arm`, `start` and `stop` are for whoever runs the lane (operators, technicians); a
 * fault `reset` is maintenance (technicians). The gateway refuses in words what the PLC's state
 * does not allow (src/app/scanner-plc.ts: link down, local control, emergency stop, wrong state)
 * instead of writing it; every command written is audited (who, when, the state it was sent in).
 * The new state follows on the live feed's `scanner` event with the next poll.
 */
import { Type } from '@sinclair/typebox';
import type { Role } from '../ports.js';
import { TECHNICIANS, who } from '../auth/guard.js';
import { ApiError, ErrorSchema } from '../errors.js';
import { LaneIdParams, ScannerPlcSchema } from '../schemas.js';
import type { ApiPlugin } from '../type-provider.js';

const COMMANDS = ['arm', 'start', 'stop', 'reset'] as const;
const LANE_CREW: readonly Role[] = ['operator', 'technician', 'admin'];

export const scannerRoutes: ApiPlugin = (app, { ctx }) => {
  app.post(
    '/api/v1/lanes/:lane/scanner/command',
    {
      config: { allow: LANE_CREW },
      schema: {
        tags: ['lanes'],
        summary:
          "Command the lane's cargo scanner PLC: arm, start, stop (operators), reset a fault (technicians)",
        params: LaneIdParams,
        body: Type.Object(
          { command: Type.Union(COMMANDS.map((c) => Type.Literal(c))) },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object({
            lane: Type.String(),
            command: Type.String(),
            scannerPlc: ScannerPlcSchema,
          }),
          400: ErrorSchema,
          403: ErrorSchema,
          404: ErrorSchema,
          409: ErrorSchema,
          502: ErrorSchema,
          503: ErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const me = who(request);
      const { lane } = request.params;
      const { command } = request.body;
      if (command === 'reset' && !TECHNICIANS.includes(me.role))
        throw new ApiError('FORBIDDEN', "resetting a scanner fault is a technician's task");
      if (ctx.scans === undefined)
        throw new ApiError('NOT_AVAILABLE', 'no lane of this gateway has a scanner');
      const before = ctx.scans.lanes.find((l) => l.lane === lane)?.plc?.status ?? null;
      const scannerPlc = await ctx.scans.command(lane, command);
      const entry = ctx.audit.append({
        actor: me.username,
        role: me.role,
        action: 'scanner.command',
        target: `lane/${lane}/scanner`,
        before: before === null ? null : { state: before.state, faultCode: before.faultCode },
        after: { command },
      });
      ctx.hub.publish('audit', entry);
      ctx.logger.info('scanner command sent', { lane, command, by: me.username });
      return reply.code(202).send({ lane, command, scannerPlc });
    },
  );
  return Promise.resolve();
};
