/**
 * Named counters for bad input and other things an operator wants to see counted
 * (malformed lines, over-long lines, Modbus timeouts, …). Plain numbers, cheap on hot paths.
 */
export class Counters {
  private readonly values = new Map<string, number>();

  increment(name: string, by = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + by);
  }

  get(name: string): number {
    return this.values.get(name) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.values.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}
