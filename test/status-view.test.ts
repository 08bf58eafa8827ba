// The live status view's renderer (cli/status-view.ts): a pure function from snapshots to lines.
import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, renderStatus, type StatusSnapshot } from '../cli/status-view.ts';

const plain = (line: string) => line.replace(/\x1b\[[0-9;]*m/g, '');

function snapshot(overrides: Partial<StatusSnapshot> = {}): StatusSnapshot {
  return {
    at: 1_000_000 + 3_725_000,
    startedAt: 1_000_000,
    title: 'Allium relay 0c696a0f',
    about: ['Relay 0c696a0f listening on ws://127.0.0.1:9001'],
    figures: [
      ['listed by pools', '1 of 1'],
      ['links', 3],
      ['circuits', 12],
      ['exit streams', 4],
    ],
    bytes: { received: 2_500_000, sent: 3_000_000 },
    problems: [
      { label: 'circuit errors', byKind: { LINK_CLOSED: 2, PROTOCOL_ERROR: 5, TIMEOUT_ERROR: 0 } },
      { label: 'rejections', byKind: { source_connections: 0 } },
    ],
    logs: ['12:00:01.000 WARN  [relay/pools] heartbeat to pool failed'],
    ...overrides,
  };
}

describe('status view', () => {
  it('shows what runs, its uptime, figures, bytes, problems by kind and the latest warnings', () => {
    const lines = renderStatus(snapshot(), undefined, { columns: 80, rows: 40 }).map(plain);
    expect(lines[0]).toMatch(/^Allium relay 0c696a0f +up 01:02:05$/);
    expect(lines[0]).toHaveLength(80);
    expect(lines).toContain('Relay 0c696a0f listening on ws://127.0.0.1:9001');
    expect(lines).toContain('listed by pools 1 of 1        links           3');
    expect(lines).toContain('circuits        12            exit streams    4');
    expect(lines).toContain('received        2.5 MB');
    // Kinds largest first, zeros left out; a problem with none shows its total only.
    expect(lines).toContain('circuit errors  7           PROTOCOL_ERROR 5 · LINK_CLOSED 2');
    expect(lines).toContain('rejections      0');
    expect(lines.slice(-4)).toEqual(['Recent warnings and errors', '12:00:01.000 WARN  [relay/pools] heartbeat to pool failed', '', 'Ctrl-C to stop']);
  });

  it('shows rates from the previous snapshot', () => {
    const previous = snapshot({ at: snapshot().at - 2000, bytes: { received: 500_000, sent: 2_000_000 } });
    const lines = renderStatus(snapshot(), previous, { columns: 80, rows: 40 }).map(plain);
    expect(lines).toContain('received        2.5 MB        1.0 MB/s');
    expect(lines).toContain('sent            3.0 MB        500.0 kB/s');
  });

  it('fits the screen: lines cut to its width, long about lines wrapped, the oldest log lines dropped first', () => {
    const logs = Array.from({ length: 30 }, (_, i) => `12:00:${String(i).padStart(2, '0')}.000 ERROR [x] failure ${i} ${'y'.repeat(80)}`);
    const command = '  npx allium fetch --pool http://127.0.0.1:7070 --pool-key ' + 'k'.repeat(43) + ' http://127.0.0.1:7076/';
    const about = ['Fetch the demo site through a circuit, which is what this long line of prose is about:', command];
    const lines = renderStatus(snapshot({ logs, about }), undefined, { columns: 60, rows: 24 }).map(plain);
    expect(lines).toHaveLength(24);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(60);
    // Prose wraps at spaces; a command wraps at spaces with shell continuations, so it pastes whole.
    expect(lines.slice(2, 4)).toEqual(['Fetch the demo site through a circuit, which is what this', 'long line of prose is about:']);
    const first = lines.findIndex((l) => l.startsWith('  npx allium'));
    const wrapped = lines.slice(first, first + 3);
    expect(wrapped).toEqual([
      '  npx allium fetch --pool http://127.0.0.1:7070 --pool-key \\',
      '      ' + 'k'.repeat(43) + ' \\',
      '      http://127.0.0.1:7076/',
    ]);
    expect(wrapped.join('\n').replaceAll(' \\\n', ' ').replace(/ +/g, ' ').trim()).toBe(command.trim());
    expect(lines.at(-1)).toBe('Ctrl-C to stop');
    expect(lines.some((l) => l.includes('failure 29'))).toBe(true);
    expect(lines.some((l) => l.includes('failure 0 '))).toBe(false);
  });

  it('formats sizes and durations', () => {
    expect([formatBytes(0), formatBytes(999), formatBytes(1000), formatBytes(1_234_567), formatBytes(5e12)]).toEqual(['0 B', '999 B', '1.0 kB', '1.2 MB', '5.0 TB']);
    expect([formatDuration(0), formatDuration(59_999), formatDuration(3_600_000), formatDuration(93_784_000)]).toEqual(['00:00:00', '00:00:59', '01:00:00', '1d 02:03:04']);
  });
});
