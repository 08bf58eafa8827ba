// V8 CPU profiles: those `node --cpu-prof` writes when a relay exits, and this process's own
// (through the inspector). Only samples inside given time windows count (V8 stamps samples with
// the same monotonic clock as process.hrtime, in µs); functions are ranked by self time.
import { readdirSync, readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { basename, join } from 'node:path';

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Window {
  startUs: number;
  endUs: number;
}

export interface HotFunction {
  name: string;
  /** Share of the busy (non-idle) samples in the windows, in %. */
  selfPercent: number;
}

export interface ProfileSummary {
  /** Share of the windows' samples in which the process was busy, in %. */
  busyPercent: number;
  top: HotFunction[];
}

/** A monotonic timestamp in µs, comparable with the samples of a CPU profile. */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

function label(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  const file = frame.url.startsWith('node:') ? frame.url : basename(frame.url);
  return `${name} ${file}:${frame.lineNumber + 1}`;
}

/** The profile a process started with --cpu-prof wrote into `dir` (file names carry the pid). */
export function readProfile(dir: string, pid: number): CpuProfile {
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile') && name.split('.').includes(String(pid)));
  if (!file) throw new Error(`no CPU profile for process ${pid} in ${dir}`);
  return JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
}

/** Profiles this process (the client) while `work` runs. */
export async function profileSelf<T>(work: () => Promise<T>): Promise<{ result: T; profile: CpuProfile }> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    const result = await work();
    const { profile } = await session.post('Profiler.stop');
    return { result, profile: profile as unknown as CpuProfile };
  } finally {
    session.disconnect();
  }
}

export function summarizeProfiles(profiles: CpuProfile[], windows: Window[], topCount = 15): ProfileSummary {
  const self = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const profile of profiles) {
    const labels = new Map(profile.nodes.map((n) => [n.id, label(n.callFrame)]));
    let time = profile.startTime;
    for (let i = 0; i < profile.samples.length; i++) {
      time += profile.timeDeltas[i];
      if (!windows.some((w) => time >= w.startUs && time <= w.endUs)) continue;
      const name = labels.get(profile.samples[i])!;
      total++;
      if (name === '(idle)') idle++;
      else self.set(name, (self.get(name) ?? 0) + 1);
    }
  }
  const busy = total - idle;
  const top = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, topCount)
    .map(([name, count]) => ({ name, selfPercent: round((100 * count) / Math.max(busy, 1)) }));
  return { busyPercent: round((100 * busy) / Math.max(total, 1)), top };
}

const round = (x: number) => Math.round(x * 10) / 10;
