/**
 * Long pure computations (normalizing, tiling, shielding, overlay rendering over millions of
 * pixels) are written as generators that yield between bands of work. `runSync` runs one to the
 * end (tests, tools); `runChunked` gives the event loop a turn whenever a slice exceeds its
 * budget, so a 2048 × 1024 scan never stalls the gateway's loop (SPEC §7).
 */
export type Steps<T> = Generator<void, T, void>;

export function runSync<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

export async function runChunked<T>(steps: Steps<T>, budgetMs = 6): Promise<T> {
  let t = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - t > budgetMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      t = performance.now();
    }
  }
}
