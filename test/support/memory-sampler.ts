// Peak resident memory of processes while a test runs (Linux /proc), for the DoS and fault figures.
import { residentBytes } from './processes.ts';

export function samplePeakRss(pids: number[], intervalMs = 100) {
  const peaks = new Map<number, number>(pids.map((pid) => [pid, 0]));
  const sample = async () => {
    for (const pid of pids) {
      try {
        peaks.set(pid, Math.max(peaks.get(pid)!, await residentBytes(pid)));
      } catch {
        // The process may be gone (a fault test killed it).
      }
    }
  };
  void sample();
  const timer = setInterval(() => void sample(), intervalMs);
  return {
    /** Stops sampling; peaks in bytes by pid. */
    async stop(): Promise<Map<number, number>> {
      clearInterval(timer);
      await sample();
      return peaks;
    },
  };
}
