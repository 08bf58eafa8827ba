// The HTTP server under a relay or a pool: plain, or with TLS files an HTTPS one whose certificate
// follows those files (node/tls-reload.ts) for as long as it listens.
import http from 'node:http';
import https from 'node:https';
import type { Logger } from './log.ts';
import { describeCertificate, readTlsCredentials, type TlsFiles } from './tls-credentials.ts';
import { watchTlsFiles } from './tls-reload.ts';

export function createHttpServer(options: http.ServerOptions, handler: http.RequestListener, tls: TlsFiles | undefined, log: Logger): http.Server {
  if (tls === undefined) return http.createServer(options, handler);
  const credentials = readTlsCredentials(tls);
  const server = https.createServer(
    {
      ...options,
      cert: credentials.cert,
      key: credentials.key,
      // The TLS handshake is part of the opening that the request timeouts bound.
      handshakeTimeout: options.requestTimeout,
    },
    handler,
  );
  log.info('TLS certificate loaded', describeCertificate(credentials.leaf));
  const reloader = watchTlsFiles(tls, credentials, (next) => server.setSecureContext({ cert: next.cert, key: next.key }), log);
  server.once('close', () => reloader.close());
  return server as unknown as http.Server;
}
