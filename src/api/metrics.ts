/**
 * A tiny Prometheus text-format writer (exposition format 0.0.4): HELP and TYPE lines, label
 * values escaped. Enough for the gateway's handful of gauges and counters, without a dependency.
 */
export type MetricType = 'gauge' | 'counter';

export interface MetricSample {
  readonly labels?: Readonly<Record<string, string>>;
  readonly value: number;
}

export class MetricsText {
  private readonly lines: string[] = [];

  add(name: string, type: MetricType, help: string, samples: readonly MetricSample[]): this {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`invalid metric name ${name}`);
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    this.lines.push(`# TYPE ${name} ${type}`);
    for (const s of samples) this.lines.push(`${name}${labelText(s.labels)} ${numberText(s.value)}`);
    return this;
  }

  toString(): string {
    return this.lines.join('\n') + '\n';
  }
}

function labelText(labels: Readonly<Record<string, string>> | undefined): string {
  if (labels === undefined) return '';
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries
    .map(
      ([k, v]) =>
        `${k.replace(/[^a-zA-Z0-9_]/g, '_')}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
    )
    .join(',')}}`;
}

function numberText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
