/**
 * Authenticated scan upload (SPEC §1.3 (b), §8): `POST /scans`, multipart with a `meta` field (the
 * same JSON as an inbox sidecar; `files` may be omitted) and a `high` (and optional `low`) 16-bit
 * PNG/TIFF file part, or a single `dicos` part. Bearer token checked before the body is read (401
 * UPLOAD_UNAUTHORIZED); sizes limited per file and per request (413 UPLOAD_INVALID); images decoded
 * with the same header checks as the inbox (422 IMAGE_*); not multipart (any other type, checked
 * before the body is read): 415 UPLOAD_INVALID; more than `maxConcurrent` at once: 503 UPLOAD_BUSY.
 * Refusals answer the console API's error shape and close the connection. Scans go to `onScan`
 * once their headers pass; a 16-bit PNG is still decoding then (the analysis starts on its first
 * rows), and one found corrupt part-way is refused with 422 as one found at once. Accepted scans
 * get 202. The console engineer mounts this plugin under /api/v1.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import multipart from '@fastify/multipart';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../../core/errors.js';
import {
  DEFAULT_LIMITS,
  openImage,
  scanDecoding,
  type DecodeLimits,
  type OpenedImage,
} from '../../imaging/decode.js';
import { parseSidecar } from '../../imaging/sidecar.js';
import type { ReadScan } from './adapter.js';

export interface ScanUploadOptions {
  /** Accepted bearer tokens (from configuration / environment). */
  readonly tokens: readonly string[];
  /** Largest file part. Default 64 MiB. */
  readonly maxFileBytes?: number;
  readonly limits?: DecodeLimits;
  /** Uploads read and decoded at once at most; more get 503 (each may hold 2 files in memory). Default 2. */
  readonly maxConcurrent?: number;
  readonly onScan: (scan: ReadScan) => Promise<void> | void;
}

/** The one media type an upload is: `multipart/form-data`, with or without parameters. */
const MULTIPART = /^\s*multipart\/form-data\s*(;|$)/i;

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

function tokenAccepted(header: string | undefined, tokens: readonly Buffer[]): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!m) return false;
  const got = digest(m[1]!);
  let ok = false;
  for (const t of tokens) ok = timingSafeEqual(got, t) || ok; // compare with every token: no early exit
  return ok;
}

/**
 * The console API's error shape (docs/console.md): `{statusCode, code, error, message}`. The
 * connection is closed after a refusal: the rest of a refused body is never read, and a kept-alive
 * socket would hold it (and its buffers) for as long as the client keeps it open.
 */
function fail(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply
    .code(status)
    .header('connection', 'close')
    .send({ statusCode: status, code, error: STATUS_CODES[status] ?? 'Error', message });
}

/**
 * The route in the API's OpenAPI document, for the integrator of a scanner. Documentation only:
 * no body schema (a multipart body is read by the handler, part by part, not validated whole),
 * and only the 202 has a response schema (refusals are sent as they are, in the error shape).
 */
const UPLOAD_DOC = {
  tags: ['scans'],
  summary: "Upload a scan: the scanner's bearer token, or a technician's session",
  description:
    'multipart/form-data with a `meta` field (the JSON of an inbox sidecar: scanId, time, lane, ' +
    'energies…; `files` may be omitted) and a `high` file part (16-bit PNG or TIFF), optionally ' +
    '`low`, or a single `dicos` part. Refusals answer {statusCode, code, error, message} and close ' +
    'the connection: 401 UPLOAD_UNAUTHORIZED (no valid token, checked before the body is read); ' +
    '415 UPLOAD_INVALID (not multipart, checked before the body is read); 400 UPLOAD_INVALID or ' +
    'SIDECAR_INVALID (parts or meta wrong); 413 UPLOAD_INVALID (a part too large); 422 IMAGE_CORRUPT, ' +
    'IMAGE_UNSUPPORTED, IMAGE_TOO_LARGE or IMAGE_MISMATCH (the image); 409 SCAN_DUPLICATE (a scan id ' +
    'already received; the first is kept); 503 UPLOAD_BUSY (too many uploads at once: retry shortly).',
  security: [{ token: [] }, { session: [] }],
  response: {
    202: Type.Object(
      { accepted: Type.Literal(true), scanId: Type.String() },
      { description: 'Accepted: the analysis follows as an imaging.scan.analyzed event.' },
    ),
  },
} as const;

export const scanUploadPlugin: FastifyPluginAsync<ScanUploadOptions> = async (app, options) => {
  const tokens = options.tokens.filter((t) => t.length > 0).map(digest);
  const maxFile = options.maxFileBytes ?? 64 * 1024 * 1024;
  await app.register(multipart, {
    limits: { fileSize: maxFile, files: 2, fields: 4, fieldSize: 64 * 1024, parts: 6 },
  });

  app.addHook('onRequest', async (request, reply) => {
    if (!tokenAccepted(request.headers.authorization, tokens)) {
      await fail(reply, 401, 'UPLOAD_UNAUTHORIZED', 'a valid bearer token is required to upload scans');
      return;
    }
    // Checked here, before the body is read: in the route, a JSON body would have been read whole
    // first (up to the route's body limit, over 128 MiB), and a body of any other type would not get
    // there — the console API refuses those itself, with its own code and its advice to send JSON.
    if (!MULTIPART.test(request.headers['content-type'] ?? ''))
      await fail(reply, 415, 'UPLOAD_INVALID', 'send multipart/form-data with meta and high (and low) parts');
  });

  const maxConcurrent = Math.max(1, options.maxConcurrent ?? 2);
  let active = 0;

  app.post('/scans', { bodyLimit: 2 * maxFile + 256 * 1024, schema: UPLOAD_DOC }, async (request, reply) => {
    if (!/;\s*boundary=/i.test(request.headers['content-type'] ?? ''))
      return fail(reply, 400, 'UPLOAD_INVALID', 'multipart/form-data without a boundary');
    if (active >= maxConcurrent) {
      void reply.header('retry-after', '5');
      return fail(reply, 503, 'UPLOAD_BUSY', `${active} uploads in progress: try again shortly`);
    }
    active++;
    try {
      return await receive(request, reply);
    } finally {
      active--;
    }
  });

  const receive = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const limits = options.limits ?? DEFAULT_LIMITS;
    let metaText: string | undefined;
    const images: Partial<Record<'high' | 'low' | 'dicos', OpenedImage>> = {};
    let polarityFromFile: 'transmission' | 'attenuation' | undefined;
    const t0 = performance.now();
    try {
      for await (const part of request.parts()) {
        if (part.type === 'field') {
          if (part.fieldname === 'meta' && part.valueTruncated)
            return fail(reply, 413, 'UPLOAD_INVALID', 'meta is larger than 64 KiB');
          if (part.fieldname === 'meta') metaText = String(part.value);
          continue;
        }
        const field = part.fieldname;
        if (field !== 'high' && field !== 'low' && field !== 'dicos')
          throw new GatewayError('UPLOAD_INVALID', `unexpected file part '${field}' (high, low or dicos)`);
        const bytes = await part.toBuffer();
        // Headers checked here (422 before the scan is taken); a streamed PNG decodes on.
        const decoded = await openImage(bytes, `${field}:${part.filename}`, limits);
        images[field] = decoded;
        if (decoded.meta?.polarity) polarityFromFile = decoded.meta.polarity;
      }
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (code.startsWith('FST_'))
        return fail(
          reply,
          413,
          'UPLOAD_INVALID',
          `upload exceeds its limits (${maxFile} bytes per file, 2 files): ${(error as Error).message}`,
        );
      if (error instanceof GatewayError)
        return fail(reply, error.code === 'UPLOAD_INVALID' ? 400 : 422, error.code, error.message);
      throw error;
    }
    const high = images.high ?? images.dicos;
    if (!high) return fail(reply, 400, 'UPLOAD_INVALID', 'no high (or dicos) image part');
    let meta;
    try {
      const parsed = JSON.parse(metaText ?? '{}') as Record<string, unknown>;
      meta = parseSidecar(
        JSON.stringify({ files: { high: 'upload' }, scanId: `upload-${Date.now()}`, ...parsed }),
        'meta',
      ).meta;
    } catch (error) {
      if (error instanceof GatewayError) return fail(reply, 400, error.code, error.message);
      return fail(reply, 400, 'SIDECAR_INVALID', `meta is not valid JSON: ${(error as Error).message}`);
    }
    if (polarityFromFile && metaText === undefined) meta = { ...meta, polarity: polarityFromFile };
    const decoding = scanDecoding(images.low ? [high, images.low] : [high], t0);
    const scan: ReadScan = {
      scan: {
        meta,
        high: high.image,
        ...(images.low ? { low: images.low.image } : {}),
        sources: [`upload:${meta.scanId}`],
        decoding,
      },
      decodeMs: performance.now() - t0,
      files: [],
    };
    try {
      await options.onScan(scan);
    } catch (error) {
      // An image found corrupt part-way through its decode is refused as it was before (422).
      const corrupt = await decoding.done.then(
        () => null,
        (e: unknown) => e,
      );
      if (corrupt instanceof GatewayError) return fail(reply, 422, corrupt.code, corrupt.message);
      if (error instanceof GatewayError && error.code === 'SCAN_DUPLICATE')
        return fail(reply, 409, error.code, error.message);
      throw error;
    }
    // A handler that does not analyze the pixels (or a low image) still gets a corrupt file refused.
    const corrupt = await decoding.done.then(
      () => null,
      (e: unknown) => e,
    );
    if (corrupt instanceof GatewayError) return fail(reply, 422, corrupt.code, corrupt.message);
    return reply.code(202).send({ accepted: true, scanId: meta.scanId });
  };
};
