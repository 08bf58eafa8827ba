// Figures for docs/SECURITY.md: a test that measures something (cases fuzzed, success rate under
// attack, peak memory) records it here. With ALLIUM_FIGURES=FILE each figure is appended to FILE
// as one JSON line, so the table can be rebuilt from a real run; otherwise figures are discarded.
import { appendFileSync } from 'node:fs';

export function recordFigure(name: string, values: Record<string, unknown>): void {
  const file = process.env.ALLIUM_FIGURES;
  if (file) appendFileSync(file, JSON.stringify({ name, ...values, at: new Date().toISOString() }) + '\n');
}
