// --metrics-port / --metrics-host: where a long-running command serves GET /metrics and /health
// (docs/METRICS.md). Off unless a port is given; loopback unless the operator says otherwise.
import { CliError } from './command.ts';
import { portOption } from './option-values.ts';

export const METRICS_OPTIONS = {
  'metrics-port': { type: 'string' },
  'metrics-host': { type: 'string' },
} as const;

export const METRICS_HELP = `  --metrics-port P          serve Prometheus metrics on GET /metrics and a health check on
                            GET /health at this port, 0 for any free port (default: off)
  --metrics-host H          address of the metrics port (default 127.0.0.1; it shows traffic
                            figures, keep it away from the public)`;

const DEFAULT_HOST = '127.0.0.1';

/** The metrics endpoint asked for, or undefined when there is none. */
export function metricsOption(values: Record<string, unknown>): { host: string; port: number } | undefined {
  const host = values['metrics-host'] as string | undefined;
  if (values['metrics-port'] === undefined) {
    if (host !== undefined) throw new CliError('--metrics-host needs --metrics-port', 2);
    return undefined;
  }
  const port = portOption(values['metrics-port'], 'metrics-port', 0);
  if (host !== undefined && !/^[A-Za-z0-9.:_-]+$/.test(host)) throw new CliError(`--metrics-host must be an address or host name, got "${host}"`, 2);
  return { host: host ?? DEFAULT_HOST, port };
}
