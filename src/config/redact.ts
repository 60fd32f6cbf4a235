/**
 * Secrets in a lane's configuration — the scanner's upload tokens — never leave the gateway:
 * every view of a lane's settings (the console's device pages, the audit trail, the live feed,
 * central's `request-config`) shows them as {@link REDACTED}. A whole configuration sent back
 * with every token still redacted keeps the tokens the lane has.
 */
import type { LaneConfig } from './lane-schema.js';

/** Long enough to pass the schema's minimum, so a whole configuration sent back validates. */
export const REDACTED = '(hidden upload token)';

/** The lane's settings as they may be shown. */
export function redactLane(lane: LaneConfig): LaneConfig {
  const tokens = lane.scanner?.uploadTokens;
  if (lane.scanner === undefined || tokens === undefined || tokens.length === 0) return lane;
  return { ...lane, scanner: { ...lane.scanner, uploadTokens: tokens.map(() => REDACTED) } };
}

/**
 * `next` (a lane's settings from a client) with the tokens of `before` where the client sent
 * them back redacted — all of them, as many as there are; otherwise `next` as it is (new tokens
 * replace the old ones). Null when some but not all are the redacted marker: that would make
 * the marker itself a token.
 */
export function restoreSecrets(next: unknown, before: LaneConfig): unknown {
  if (typeof next !== 'object' || next === null) return next;
  const scanner = (next as { scanner?: unknown }).scanner;
  if (typeof scanner !== 'object' || scanner === null) return next;
  const sent = (scanner as { uploadTokens?: unknown }).uploadTokens;
  if (!Array.isArray(sent) || !sent.includes(REDACTED)) return next;
  const kept = before.scanner?.uploadTokens ?? [];
  if (sent.length !== kept.length || !sent.every((t) => t === REDACTED)) return null;
  return { ...next, scanner: { ...scanner, uploadTokens: [...kept] } };
}
