/**
 * Cargo scans (SPEC §1.3, §3 item 6, §6): the analyzed scans with their fusion verdict (filter,
 * page), one scan, its overlay (X-ray with heat map and boxes) and its original image as an 8-bit
 * preview, and the scans linked to an occupancy. `scanUploadRoutes` mounts the authenticated
 * upload (src/drivers/scanner/upload-plugin.ts) per lane, outside the session guard: a scanner
 * workstation authenticates with its lane's upload token, a person with a technician session.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { scanUploadPlugin } from '../../drivers/scanner/upload-plugin.js';
import { SCAN_ID_PATTERN } from '../../imaging/sidecar.js';
import { duplicateScanError, type StoredScan } from '../../storage/scan-store.js';
import { principalOf, TECHNICIANS } from '../auth/guard.js';
import type { ApiContext } from '../context.js';
import { ApiError, errorBody, ErrorSchema } from '../errors.js';
import { OccupancyParams, Page, PageQuery } from '../schemas.js';
import type { ApiPlugin } from '../type-provider.js';

const Priority = Type.Union(['normal', 'elevated', 'high', 'critical'].map((p) => Type.Literal(p)));

export const ScanSchema = Type.Object(
  {
    scanId: Type.String(),
    lane: Type.String(),
    time: Type.String({ description: 'When the scan started (ISO 8601).' }),
    receivedAt: Type.String(),
    occupancySeq: Type.Union([Type.Integer(), Type.Null()], {
      description: 'The occupancy of the same lane the scan was linked to; null until linked.',
    }),
    priority: Priority,
    raised: Type.Boolean({ description: 'The scan raised the case above its radiation-only priority.' }),
    reasons: Type.Array(Type.String()),
    regions: Type.Integer({ description: 'X-ray anomaly regions.' }),
    shieldingSuspects: Type.Integer({ description: 'Regions the X-ray could not penetrate.' }),
    maxScore: Type.Number(),
  },
  { title: 'Scan' },
);

const ScanDetail = Type.Composite([
  ScanSchema,
  Type.Object({ analysis: Type.Unknown({ description: 'The imaging.scan.analyzed data.' }) }),
]);

const ScanParams = Type.Object({ scanId: Type.String({ pattern: SCAN_ID_PATTERN }) });

const ListQuery = Type.Object(
  {
    lane: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' })),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Started at or after (ISO 8601).' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Started before (ISO 8601).' })),
    occupancySeq: Type.Optional(Type.Integer({ minimum: 1 })),
    priority: Type.Optional(Type.Union([Priority], { description: 'At or above this priority.' })),
    ...PageQuery,
  },
  { additionalProperties: false },
);

const summary = ({ analysis: _a, overlayPath: _o, previewPath: _p, ...rest }: StoredScan) => rest;

function scansOf(ctx: ApiContext) {
  if (ctx.scans === undefined) throw new ApiError('NOT_AVAILABLE', 'no lane of this gateway has a scanner');
  return ctx.scans;
}

export const scanRoutes: ApiPlugin = (app, { ctx }) => {
  app.get(
    '/api/v1/scans',
    {
      schema: {
        tags: ['scans'],
        summary: 'Analyzed scans, newest first',
        querystring: ListQuery,
        response: { 200: Page(ScanSchema, 'ScanPage'), 400: ErrorSchema, 503: ErrorSchema },
      },
    },
    (request) => {
      const q = request.query;
      const limit = q.limit ?? 50;
      const offset = q.offset ?? 0;
      const page = scansOf(ctx).store.list({
        ...(q.lane === undefined ? {} : { lane: q.lane }),
        ...(q.from === undefined ? {} : { from: Date.parse(q.from) }),
        ...(q.to === undefined ? {} : { to: Date.parse(q.to) }),
        ...(q.occupancySeq === undefined ? {} : { occupancySeq: q.occupancySeq }),
        ...(q.priority === undefined ? {} : { minPriority: q.priority as StoredScan['priority'] }),
        limit,
        offset,
      });
      return { total: page.total, limit, offset, items: page.items.map(summary) };
    },
  );

  app.get(
    '/api/v1/occupancies/:lane/:seq/scans',
    {
      schema: {
        tags: ['scans'],
        summary: 'The scans linked to one occupancy (empty when the lane has no scanner)',
        params: OccupancyParams,
        response: { 200: Type.Array(ScanSchema) },
      },
    },
    (request) =>
      ctx.scans === undefined
        ? []
        : ctx.scans.store.byOccupancy(request.params.lane, request.params.seq).map(summary),
  );

  app.get(
    '/api/v1/scans/:scanId',
    {
      schema: {
        tags: ['scans'],
        summary: 'One scan with its analysis',
        params: ScanParams,
        response: { 200: ScanDetail, 404: ErrorSchema, 503: ErrorSchema },
      },
    },
    (request) => {
      const scan = scansOf(ctx).store.get(request.params.scanId);
      if (scan === null) throw new ApiError('NOT_FOUND', `no scan '${request.params.scanId}'`);
      return { ...summary(scan), analysis: scan.analysis };
    },
  );

  for (const [name, pick, what] of [
    ['overlay', (s: StoredScan) => s.overlayPath, 'The X-ray with the heat map and boxes (PNG)'],
    ['image', (s: StoredScan) => s.previewPath, 'The original image as an 8-bit preview (PNG)'],
  ] as const) {
    app.get(
      `/api/v1/scans/:scanId/${name}.png`,
      {
        schema: {
          tags: ['scans'],
          summary: what,
          params: ScanParams,
          produces: ['image/png'],
          response: { 404: ErrorSchema, 503: ErrorSchema },
        },
      },
      async (request, reply) => {
        const scan = scansOf(ctx).store.get(request.params.scanId);
        const path = scan === null ? null : pick(scan);
        if (path === null) throw new ApiError('NOT_FOUND', `no scan '${request.params.scanId}'`);
        const png = await readFile(path).catch(() => null);
        if (png === null)
          throw new ApiError('NOT_FOUND', `the ${name} of '${request.params.scanId}' is gone`);
        return reply.type('image/png').send(png as never);
      },
    );
  }
  return Promise.resolve();
};

/**
 * `POST /api/v1/scanners/:lane/scans` per lane with a scanner (multipart, see docs/imaging.md).
 * A person's session or API token is checked here (technician or admin); a request without one
 * goes to the plugin's bearer check against the lane's upload tokens. A technician is let through
 * with a per-process secret token the plugin also accepts.
 */
export const scanUploadRoutes: FastifyPluginAsync<{ ctx: ApiContext }> = async (app, { ctx }) => {
  const scans = ctx.scans;
  if (scans === undefined) return;
  const internal = randomBytes(32).toString('base64url');
  for (const { lane, uploadTokens } of scans.lanes) {
    await app.register(
      async (scope) => {
        scope.addHook('onRequest', async (request, reply) => {
          const person = principalOf(ctx, request);
          if (person === null) return;
          if (!TECHNICIANS.includes(person.role)) {
            await reply
              .code(403)
              .send(
                errorBody('FORBIDDEN', `${person.role} may not upload scans; it needs: technician, admin`),
              );
            return;
          }
          request.headers.authorization = `Bearer ${internal}`;
        });
        await scope.register(scanUploadPlugin, {
          tokens: [...uploadTokens, internal],
          // 202 means accepted: the analysis follows (its failures are logged and counted).
          onScan: (read) => {
            // A second scan under a stored id would replace the first: 409 before accepting it.
            const scanId = read.scan.meta.scanId;
            if (scans.store.get(scanId) !== null) throw duplicateScanError(scanId);
            void scans.ingest(lane, read).catch(() => undefined);
          },
        });
      },
      { prefix: `/api/v1/scanners/${lane}` },
    );
  }
};
