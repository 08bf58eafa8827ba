// The operator's port: GET /metrics (Prometheus text format 0.0.4) and GET /health, on an address
// of its own (loopback by default) so counters that describe traffic never reach the public port.
// Everything else is refused; requests are small, short-lived and few.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './log.ts';
import type { MetricsRegistry } from './metrics.ts';

/** A service's health: `ok` serves 200, anything else 503 with the reason. */
export type HealthReport = { ok: true; details?: Record<string, unknown> } | { ok: false; reason: string; details?: Record<string, unknown> };

export interface MetricsServerOptions {
  host: string;
  port: number;
  registry: MetricsRegistry;
  health(): HealthReport;
  log: Logger;
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

const TIMEOUT_MS = 5_000;
/** A scraper needs one or two connections; this bounds what a flood can hold. */
const MAX_CONNECTIONS = 32;
const MAX_HEADER_BYTES = 8 * 1024;
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server = http.createServer(
    { headersTimeout: TIMEOUT_MS, requestTimeout: TIMEOUT_MS, maxHeaderSize: MAX_HEADER_BYTES, connectionsCheckingInterval: 1_000 },
    (req, res) => {
      // Matched as a plain string: a URL parser would throw on hostile request targets.
      const path = (req.url ?? '/').split('?')[0];
      if (path !== '/metrics' && path !== '/health') return send(res, 404, 'text/plain', 'not found: GET /metrics or /health\n');
      if (req.method !== 'GET') return send(res, 405, 'text/plain', `${path} accepts GET only\n`, { allow: 'GET' });
      if (path === '/metrics') return send(res, 200, CONTENT_TYPE, options.registry.render());
      const health = options.health();
      const body = health.ok ? { status: 'ok', ...health.details } : { status: 'unavailable', reason: health.reason, ...health.details };
      send(res, health.ok ? 200 : 503, 'application/json', JSON.stringify(body) + '\n');
    },
  );
  server.maxConnections = MAX_CONNECTIONS;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
      options.log.info('metrics and health endpoint listening', { url });
      resolve({
        url,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

function send(res: http.ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  const data = Buffer.from(body);
  res.writeHead(status, { 'content-type': type, 'content-length': String(data.length), 'cache-control': 'no-store', ...headers });
  res.end(data);
}
