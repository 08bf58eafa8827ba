// A tiny metrics registry rendered in the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/). No dependency: relays and pools
// need counters and gauges with a few fixed labels, nothing more. Hot paths never touch it:
// they increment plain numbers (shared/relay-events.ts) that a metric reads when scraped.

export type MetricType = 'counter' | 'gauge';
export type Labels = Readonly<Record<string, string>>;
export interface Sample {
  labels?: Labels;
  value: number;
}

interface Family {
  name: string;
  help: string;
  type: MetricType;
  read(): readonly Sample[];
}

/** A counter whose label sets are fixed up front, so an increment allocates nothing. */
export class Counter<L extends string = string> {
  private readonly values = new Map<L, number>();
  constructor(labelValues: readonly L[]) {
    for (const value of labelValues) this.values.set(value, 0);
  }
  inc(labelValue: L, by = 1): void {
    const current = this.values.get(labelValue);
    if (current === undefined) throw new Error(`unknown label value "${labelValue}"`);
    this.values.set(labelValue, current + by);
  }
  get(labelValue: L): number {
    return this.values.get(labelValue) ?? 0;
  }
  entries(): IterableIterator<[L, number]> {
    return this.values.entries();
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export class MetricsRegistry {
  private readonly families = new Map<string, Family>();

  /** A metric read when scraped: a single value, or one sample per label set. */
  register(name: string, type: MetricType, help: string, read: () => number | readonly Sample[]): void {
    if (!NAME.test(name)) throw new Error(`invalid metric name "${name}"`);
    if (this.families.has(name)) throw new Error(`metric "${name}" registered twice`);
    this.families.set(name, {
      name,
      type,
      help,
      read: () => {
        const value = read();
        return typeof value === 'number' ? [{ value }] : value;
      },
    });
  }

  /** A counter with one label, every value of which is exported (zero until counted). */
  labelledCounter<L extends string>(name: string, help: string, label: string, values: readonly L[]): Counter<L> {
    const counter = new Counter(values);
    this.register(name, 'counter', help, () => samplesOf(label, counter.entries()));
    return counter;
  }

  /** Every metric, in registration order, as Prometheus text. */
  render(): string {
    const lines: string[] = [];
    for (const family of this.families.values()) {
      lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
      for (const sample of family.read()) lines.push(`${family.name}${renderLabels(sample.labels)} ${renderValue(sample.value)}`);
    }
    return lines.join('\n') + '\n';
  }
}

/** Samples of a one-label metric from (label value, number) pairs. */
export function samplesOf(label: string, entries: Iterable<readonly [string, number]>): Sample[] {
  return Array.from(entries, ([value, count]) => ({ labels: { [label]: value }, value: count }));
}

function renderLabels(labels: Labels | undefined): string {
  if (!labels) return '';
  const parts = Object.entries(labels).map(([name, value]) => {
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new Error(`invalid label name "${name}"`);
    return `${name}="${escapeLabelValue(value)}"`;
  });
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function renderValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Standard process metrics (the names Prometheus client libraries use), for uptime and memory alerts. */
export function registerProcessMetrics(registry: MetricsRegistry, startedAt = Date.now()): void {
  registry.register('process_start_time_seconds', 'gauge', 'Start time of the process since the Unix epoch, in seconds.', () => startedAt / 1000);
  registry.register('process_resident_memory_bytes', 'gauge', 'Resident memory size, in bytes.', () => process.memoryUsage.rss());
}
