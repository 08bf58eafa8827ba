// The exit side of a relay: dispatches each BEGIN to its stream kind.
import type { BeginRequest } from '../shared/begin.ts';
import type { CircuitStream } from '../shared/stream.ts';
import type { Logger } from '../node/log.ts';
import { serveConnect, type ExitContext } from './exit-connect.ts';
import { serveFetch } from './exit-fetch.ts';

export function createExit(context: ExitContext, log: Logger): (stream: CircuitStream, request: BeginRequest) => void {
  return (stream, request) => {
    // Destinations are never logged: they would tie a user's activity to this relay's logs.
    log.debug('exit stream', { kind: request.kind });
    if (request.kind === 'connect') void serveConnect(context, stream, request.host, request.port);
    else serveFetch(context, stream);
  };
}
