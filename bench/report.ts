// What `npm run bench` reports: the figures of one run, the targets with met / not met,
// and the human table (the JSON form is the same object).
import { median, MIB, percentile, round } from './stats.ts';

export interface Latency {
  samples: number;
  medianMs: number;
  p90Ms: number;
}

export const summarizeLatency = (samples: number[]): Latency => ({ samples: samples.length, medianMs: round(median(samples)), p90Ms: round(percentile(samples, 90)) });

/** The extension in Chromium (bench/extension.ts); null where it was not measured. */
export interface ExtensionFigures {
  /** `measured`, or why not: `n/a (…)`. */
  status: string;
  /** What a page load fetches, in words. */
  page: string;
  normalTabPageLoad: Latency | null;
  anonymousTabPageLoad: Latency | null;
  /** Median anonymous-tab load over median normal-tab load. */
  anonymousToNormal: number | null;
  /** The same for a normal tab whose requests the bench pauses and answers with direct fetches. */
  interceptedToNormal: number | null;
  /** The same with the answers fetched through a circuit by the client core in Node. */
  clientCoreToNormal: number | null;
  circuitBuild: Latency | null;
  /** Median round trip of a message to the background, which each timed build includes. */
  messageRoundTripMs: number | null;
}

export interface Throughput {
  bytes: number;
  /** Median over the rounds, in MB/s (10^6 bytes/s). */
  mbps: number;
  perRound: number[];
  /** Median of the per-round ratios to the AES chain measured in the same round. */
  ratioToAesChain?: number;
  /** CPU use of each process in the median round, in % of one core. */
  cpuPercent: Record<string, number>;
  /**
   * Median over the rounds of the CPU time all processes on the path spent per MB: unlike MB/s,
   * it hardly depends on how much of the shared machine the run got.
   */
  cpuMsPerMB: number;
}

export interface BenchResult {
  machine: { cores: number; cpuModel: string; node: string; loadAverageAtStart: number[] };
  rounds: number;
  circuitBuild: Latency;
  firstByte: Latency;
  oneStream: Throughput;
  sixteenCircuits: Throughput;
  baseline: { plain: Throughput; aes: Throughput };
  handshakes: { perSecond: number; perRelayCpuSecond: number; created: number; refused: number; cpuPercent: Record<string, number> };
  memory: { idleMiB: number; withCircuits: { circuits: number; mib: number }[]; bytesPerCircuit: number };
  extension: ExtensionFigures;
  targets: Target[];
  profile?: Record<string, { busyPercent: number; top: { name: string; selfPercent: number }[] }>;
  durationSeconds: number;
}

export interface Target {
  figure: string;
  target: string;
  value: string;
  met: boolean;
}

export function evaluateTargets(r: Omit<BenchResult, 'targets' | 'durationSeconds'>): Target[] {
  const withThousand = r.memory.withCircuits.find((m) => m.circuits === 1000);
  const ratio = r.extension.anonymousToNormal;
  // Not measured (no browser) is not a missed target: the extension rows say why.
  const extension = ratio === null ? [] : [{ figure: 'anonymous tab vs normal tab, page load', target: '≤ 1.5 ×', value: `${ratio} ×`, met: ratio <= 1.5 }];
  return [
    { figure: 'circuit build, median', target: '≤ 3 ms', value: `${r.circuitBuild.medianMs} ms`, met: r.circuitBuild.medianMs <= 3 },
    { figure: 'first byte, median', target: '≤ 1.5 ms', value: `${r.firstByte.medianMs} ms`, met: r.firstByte.medianMs <= 1.5 },
    { figure: 'one stream', target: '≥ 150 MB/s', value: `${r.oneStream.mbps} MB/s`, met: r.oneStream.mbps >= 150 },
    { figure: 'one stream vs AES chain', target: '≥ 0.45 ×', value: `${r.oneStream.ratioToAesChain} ×`, met: (r.oneStream.ratioToAesChain ?? 0) >= 0.45 },
    { figure: '16 circuits, aggregate', target: '≥ 200 MB/s', value: `${r.sixteenCircuits.mbps} MB/s`, met: r.sixteenCircuits.mbps >= 200 },
    { figure: 'relay RSS, 1,000 idle circuits', target: '≤ 80 MiB', value: `${withThousand?.mib} MiB`, met: (withThousand?.mib ?? Infinity) <= 80 },
    { figure: 'relay memory per circuit', target: '≤ 4 KiB', value: `${round(r.memory.bytesPerCircuit / 1024)} KiB`, met: r.memory.bytesPerCircuit <= 4096 },
    { figure: 'handshakes per relay core', target: '≥ 5,000 /s', value: `${r.handshakes.perRelayCpuSecond} /s`, met: r.handshakes.perRelayCpuSecond >= 5000 },
    ...extension,
  ];
}

const cpu = (percent: Record<string, number>) =>
  Object.entries(percent)
    .map(([name, p]) => `${name} ${Math.round(p)}%`)
    .join(', ');

const latencyLine = (l: Latency) => `median ${l.medianMs} ms, p90 ${l.p90Ms} ms (n = ${l.samples})`;

function pageLoadLine(e: ExtensionFigures): string {
  if (!e.anonymousTabPageLoad || !e.normalTabPageLoad) return e.status;
  const [anonymous, normal] = [e.anonymousTabPageLoad, e.normalTabPageLoad];
  return `${e.anonymousToNormal} × (anonymous median ${anonymous.medianMs} ms, p90 ${anonymous.p90Ms}; normal median ${normal.medianMs} ms, p90 ${normal.p90Ms}; n = ${anonymous.samples} each; ${e.page})`;
}

function decompositionLine(e: ExtensionFigures): string {
  if (e.interceptedToNormal === null || e.clientCoreToNormal === null) return e.status;
  return `${e.interceptedToNormal} × a normal tab, answered directly; ${e.clientCoreToNormal} × through a circuit of the client core in Node`;
}

function extensionBuildLine(e: ExtensionFigures): string {
  if (!e.circuitBuild) return e.status;
  return `${latencyLine(e.circuitBuild)}, including a message round trip of ${e.messageRoundTripMs} ms`;
}

function throughputLine(t: Throughput): string {
  const ratio = t.ratioToAesChain === undefined ? '' : `, ${t.ratioToAesChain} × AES chain`;
  return `${t.mbps} MB/s${ratio}, ${t.cpuMsPerMB} ms CPU per MB (rounds: ${t.perRound.join(', ')} MB/s)`;
}

export function renderTable(r: BenchResult): string {
  const mem = r.memory.withCircuits.map((m) => `${m.circuits.toLocaleString('en')} circuits ${m.mib} MiB`).join(', ');
  const rows: [string, string][] = [
    ['circuit build, 3 hops', latencyLine(r.circuitBuild)],
    ['first byte, 1 KiB fetch', latencyLine(r.firstByte)],
    [`one stream, ${r.oneStream.bytes / MIB} MiB`, throughputLine(r.oneStream)],
    [`16 streams on 16 circuits, ${r.sixteenCircuits.bytes / MIB} MiB`, throughputLine(r.sixteenCircuits)],
    ['relay handshakes', `${r.handshakes.perRelayCpuSecond} /s per relay core (${r.handshakes.perSecond} /s wall clock, CPU: ${cpu(r.handshakes.cpuPercent)})`],
    ['relay RSS', `idle ${r.memory.idleMiB} MiB, ${mem}; ${round(r.memory.bytesPerCircuit / 1024)} KiB per circuit`],
    ['baseline: WS chain, plain', throughputLine(r.baseline.plain)],
    ['baseline: WS chain, AES-256-CTR', throughputLine(r.baseline.aes)],
    ['extension: anonymous vs normal tab', pageLoadLine(r.extension)],
    ['page load, requests paused by the bench', decompositionLine(r.extension)],
    ['extension: circuit build', extensionBuildLine(r.extension)],
  ];
  const width = Math.max(...rows.map(([f]) => f.length));
  const lines = [
    `Allium benchmark: ${r.machine.cores} cores (${r.machine.cpuModel}), Node ${r.machine.node}, loopback, ${r.rounds} rounds, load average at start ${r.machine.loadAverageAtStart.join(' ')}`,
    '',
    ...rows.map(([f, v]) => `${f.padEnd(width)}  ${v}`),
    '',
    'CPU in the median round (% of one core):',
    `  one stream:   ${cpu(r.oneStream.cpuPercent)}`,
    `  16 circuits:  ${cpu(r.sixteenCircuits.cpuPercent)}`,
    `  chain, plain: ${cpu(r.baseline.plain.cpuPercent)}`,
    `  chain, AES:   ${cpu(r.baseline.aes.cpuPercent)}`,
    '',
    'Targets:',
  ];
  const tw = Math.max(...r.targets.map((t) => t.figure.length));
  for (const t of r.targets) lines.push(`  ${t.met ? 'met    ' : 'NOT met'}  ${t.figure.padEnd(tw)}  ${t.value} (target ${t.target})`);
  if (r.profile) {
    for (const [process, summary] of Object.entries(r.profile)) {
      lines.push('', `Profile, one stream, ${process} (busy ${summary.busyPercent}% of the time; self time, % of busy samples):`);
      for (const f of summary.top) lines.push(`  ${String(f.selfPercent).padStart(5)}%  ${f.name}`);
    }
  }
  lines.push('', `Finished in ${r.durationSeconds} s. MB = 10^6 bytes, MiB = 2^20 bytes.`);
  return lines.join('\n');
}
