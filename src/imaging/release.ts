/**
 * Prompt release of a scan's decoded pixels. sharp hands decoded images (4 MB for 2048 × 1024)
 * and encoded pictures back as external buffers that only V8's garbage collector frees, and the
 * main thread allocates too little JavaScript for a collection to come soon: they would pile up
 * to V8's external-memory trigger (~64 MB) before anything is freed, and the allocator keeps the
 * pages. A young-generation collection after each analysis (a scavenge, < 1 ms measured) frees
 * the previous scan's buffers while they are still young: peak RSS over 16 scans ≈ 205 MB
 * instead of ≈ 250 MB.
 *
 * V8 only offers that collection as `gc()` behind --expose-gc; the flag is set at runtime and the
 * function taken from a fresh context (the way Jest does it). The flag's only other effect:
 * contexts created afterwards (node:vm) also see a global `gc`. Without it, nothing is forced.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

let gc: Gc | null | undefined;

function collector(): Gc | null {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = (runInNewContext('gc') as Gc | undefined) ?? null;
    } catch {
      gc = null;
    }
  }
  return gc;
}

/** Free the buffers of scans that are no longer referenced (young generation only). */
export function releaseScanMemory(): void {
  collector()?.({ type: 'minor' });
}
