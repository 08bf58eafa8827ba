// What every proxy front end (SOCKS5, HTTP) is given by startProxy.
import type { Logger } from '../node/log.ts';
import type { StreamOpener } from './stream-opener.ts';

export interface FrontEndOptions {
  opener: StreamOpener;
  log: Logger;
  /** Limit for a client to complete its greeting/request or its HTTP headers. */
  handshakeTimeoutMs: number;
  /** Limit for the opener to reach the destination before the client is told it timed out. */
  connectTimeoutMs: number;
}
