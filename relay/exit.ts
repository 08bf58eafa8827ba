// The exit side of a relay: dispatches each BEGIN to its stream kind.
import type { BeginRequest } from '../shared/begin.ts';
import type { CircuitStream } from '../shared/stream.ts';
import type { Logger } from '../node/log.ts';
import { serveConnect, type ExitContext } from './exit-connect.ts';
import { serveFetch } from './exit-fetch.ts';

export function createExit(context: ExitContext, log: Logger): (stream: CircuitStream, request: BeginRequest) => void {
  return (stream, request) => {
    // Destinations go in fields node/log.ts scrubs: without --log-sensitive they would tie a
    // user's activity to this relay's logs.
    if (request.kind === 'connect') {
      log.debug('exit stream', { kind: request.kind, destination: `${request.host}:${request.port}` });
      void serveConnect(context, stream, request.host, request.port, log);
    } else {
      log.debug('exit stream', { kind: request.kind });
      serveFetch(context, stream, log);
    }
  };
}
