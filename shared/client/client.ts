// The Allium client core: the same object in `allium fetch`, `allium proxy` and the extension.
// It keeps a verified relay list from the pinned pools, builds circuits per isolation key and
// carries `fetch` requests and TCP `connect` streams over them.
import type { CryptoProvider } from '../crypto/provider.ts';
import { nobleCrypto } from '../crypto/noble.ts';
import { fetchDirectory, type DirectoryRelay, type PoolRef } from '../directory.ts';
import { isTpdpError, TpdpError } from '../errors.ts';
import { silentLog, type LogSink } from '../log-sink.ts';
import { openWebSocketLink, type WebSocketFactory } from '../websocket-link.ts';
import { toByteStream, type ByteStream } from './byte-stream.ts';
import { CircuitManager, type CircuitEvent, type ManagedCircuit } from './circuit-manager.ts';
import { exchangeOverStream, toResponse, type EncodedRequest, type RawResponse } from './fetch-over-stream.ts';
import { LinkPool } from './link-pool.ts';
import { isPrivateDestination } from '../address-ranges.ts';

export interface AlliumClientOptions {
  /** Pools to take relays from, each with its pinned Ed25519 key (base64url). */
  pools: PoolRef[];
  /** Opens a WebSocket: the browser's, Node's global one, or `ws`. */
  webSocket: WebSocketFactory;
  /** Used to fetch relay lists directly (the first time) from the pools. */
  fetch?: typeof fetch;
  crypto?: CryptoProvider;
  log?: LogSink;
  /** Per hop; Torpydo's default is 10 s. */
  handshakeTimeoutMs?: number;
  buildAttempts?: number;
  /** A circuit takes new streams this long after its first use (Tor: 10 minutes). */
  maxCircuitDirtinessMs?: number;
  /** How often the relay list is refreshed. */
  directoryRefreshMs?: number;
  /** Link keep-alive period; a link silent for three periods is closed (docs/TPDP.md §3.6). */
  keepaliveMs?: number;
}

export interface StreamOptions {
  /** Streams with different keys never share a circuit (per tab, per SOCKS credentials…). */
  isolationKey?: string;
  signal?: AbortSignal | null;
}

export type AlliumRequestInit = RequestInit & StreamOptions;

const DEFAULT_ISOLATION_KEY = 'default';
/** Relay-list refreshes never share a circuit with user traffic. */
const DIRECTORY_ISOLATION_KEY = 'allium:directory';
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** Failures of the path, not of the destination: a new circuit may well succeed. */
const CIRCUIT_FAILURES = new Set(['LINK_CLOSED', 'RELAY_SHUTDOWN', 'HOP_UNREACHABLE', 'INTEGRITY_ERROR', 'PROTOCOL_ERROR', 'TIMEOUT_ERROR']);
const MAX_REDIRECTS = 20;
/** The exit frames the request itself: these would contradict or duplicate its framing. */
const FRAMING = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host', 'content-length']);

export class AlliumClient {
  private readonly options: AlliumClientOptions;
  private readonly crypto: CryptoProvider;
  private readonly log: LogSink;
  private readonly links: LinkPool;
  private readonly manager: CircuitManager;
  private readonly listeners = new Set<(event: CircuitEvent) => void>();
  private directory?: { relays: DirectoryRelay[]; fetchedAt: number };
  private directoryPending?: Promise<DirectoryRelay[]>;

  constructor(options: AlliumClientOptions) {
    if (options.pools.length === 0) throw new Error('at least one pool (URL and key) is required');
    this.options = options;
    this.crypto = options.crypto ?? nobleCrypto;
    this.log = options.log ?? silentLog;
    const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    this.links = new LinkPool((url) => openWebSocketLink(options.webSocket, url, handshakeTimeoutMs, options.keepaliveMs), this.crypto);
    this.manager = new CircuitManager({
      crypto: this.crypto,
      links: this.links,
      relays: () => this.relays(),
      log: this.log,
      handshakeTimeoutMs,
      buildAttempts: options.buildAttempts ?? 3,
      maxDirtinessMs: options.maxCircuitDirtinessMs ?? 10 * 60_000,
      avoidFailedRelayMs: 60_000,
      onEvent: (event) => {
        for (const listener of this.listeners) listener(event);
      },
    });
  }

  /**
   * The verified, merged relay list. A stale list is refreshed in the background and served
   * meanwhile (the refresh itself needs a circuit, hence the list).
   */
  async relays(): Promise<DirectoryRelay[]> {
    const maxAge = this.options.directoryRefreshMs ?? 5 * 60_000;
    if (this.directory && Date.now() - this.directory.fetchedAt < maxAge) return this.directory.relays;
    // Started on the next microtask: a refresh through a circuit asks relays() again, and must
    // then find this refresh pending instead of starting another.
    this.directoryPending ??= Promise.resolve()
      .then(() => this.refreshDirectory())
      .finally(() => (this.directoryPending = undefined));
    if (this.directory) {
      this.directoryPending.catch(() => {});
      return this.directory.relays;
    }
    return this.directoryPending;
  }

  private async refreshDirectory(): Promise<DirectoryRelay[]> {
    // The first list comes straight from the pools; later ones come through a circuit of their
    // own, so the pools do not see this client's address each time it refreshes (as Tor's
    // directory fetches over BEGIN_DIR).
    const direct = this.options.fetch ?? globalThis.fetch.bind(globalThis);
    const fetchFn: typeof fetch = this.directory ? (input, init) => this.fetch(input as string, { ...init, isolationKey: DIRECTORY_ISOLATION_KEY }) : direct;
    try {
      const { relays, errors } = await fetchDirectory(this.options.pools, { fetch: fetchFn, crypto: this.crypto });
      for (const e of errors) this.log.warn('pool unavailable', e);
      this.directory = { relays, fetchedAt: Date.now() };
      return relays;
    } catch (err) {
      // Keep serving from the last good list while the pools are unreachable.
      if (this.directory) {
        this.log.warn('relay list refresh failed; keeping the previous list', { error: (err as Error).message });
        return this.directory.relays;
      }
      throw new TpdpError('HOP_UNREACHABLE', `no pool reachable: ${(err as Error).message}`);
    }
  }

  /** Relays in the list last fetched (0 before the first), for status displays: fetches nothing. */
  get relayCount(): number {
    return this.directory?.relays.length ?? 0;
  }

  /** Subscribes to circuit events (building, open, closed, failed); returns the unsubscribe. */
  onCircuitEvent(listener: (event: CircuitEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The current circuit of an isolation key, for status displays. */
  circuitFor(isolationKey = DEFAULT_ISOLATION_KEY): ManagedCircuit | undefined {
    return this.manager.current(isolationKey);
  }

  /** Makes new streams with this key use a new circuit. */
  newCircuit(isolationKey = DEFAULT_ISOLATION_KEY): void {
    this.manager.retire(isolationKey);
  }

  /**
   * Builds (or reuses) the circuit of a key without opening a stream, for streams to `port`
   * (by default the web's 443, which most streams of a tab or proxy go to).
   */
  async prepareCircuit(isolationKey = DEFAULT_ISOLATION_KEY, allowPrivate = false, port = 443): Promise<ManagedCircuit> {
    return this.manager.get(isolationKey, allowPrivate, port);
  }

  /** A TCP stream to host:port opened by the exit; names are resolved by the exit. */
  async connect(host: string, port: number, options: StreamOptions = {}): Promise<ByteStream> {
    const { signal } = options;
    signal?.throwIfAborted();
    const managed = await this.manager.get(options.isolationKey ?? DEFAULT_ISOLATION_KEY, isPrivateDestination(host), port);
    signal?.throwIfAborted();
    const opening = managed.circuit.openStream({ kind: 'connect', host, port });
    // Giving up on a connect ends the stream at the exit too, whenever it would have opened.
    const abort = () => void opening.then((stream) => stream.close('DONE'), () => {});
    signal?.addEventListener('abort', abort, { once: true });
    try {
      const stream = await opening;
      signal?.throwIfAborted();
      return toByteStream(stream);
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  /** A standard fetch() whose request is performed by the exit of the key's circuit. */
  async fetch(input: string | URL | Request, init: AlliumRequestInit = {}): Promise<Response> {
    const request = new Request(input, init);
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : null;
    let current: EncodedRequest = { method: request.method, url: request.url, headers: [...request.headers], body };
    const mode = init.redirect ?? 'follow';
    for (let redirects = 0; ; redirects++) {
      const response = toResponse(await this.exchange(current, init));
      const location = response.headers.get('location');
      if (mode === 'manual' || ![301, 302, 303, 307, 308].includes(response.status) || location === null) return withUrl(response, current.url, redirects > 0);
      if (mode === 'error') throw new TypeError(`redirect to ${location} refused (redirect: "error")`);
      if (redirects >= MAX_REDIRECTS) throw new TypeError(`more than ${MAX_REDIRECTS} redirects`);
      await response.body?.cancel();
      current = followRedirect(current, response.status, location);
    }
  }

  /**
   * One HTTP exchange on the key's circuit, headers exactly as given and as received, no redirect
   * followed (what the extension forwards a page's requests with). An idempotent request that
   * fails with its circuit is retried once on a new circuit.
   */
  async exchange(request: EncodedRequest, options: StreamOptions = {}): Promise<RawResponse> {
    const key = options.isolationKey ?? DEFAULT_ISOLATION_KEY;
    const url = new URL(request.url);
    const host = url.hostname;
    const port = destinationPort(url);
    const headers = request.headers.filter(([name]) => !FRAMING.has(name.toLowerCase()));
    // The body is whole, so its length is known: the exit sends it with Content-Length.
    if (request.body) headers.push(['content-length', String(request.body.length)]);
    const framed = { ...request, headers };
    for (let attempt = 1; ; attempt++) {
      const managed = await this.manager.get(key, isPrivateDestination(host), port);
      try {
        const stream = await managed.circuit.openStream({ kind: 'fetch' });
        return await exchangeOverStream(stream, framed, options.signal);
      } catch (err) {
        const retry = attempt === 1 && IDEMPOTENT.has(request.method) && isTpdpError(err) && CIRCUIT_FAILURES.has(err.code) && !options.signal?.aborted;
        if (!retry) throw err;
        this.log.info('request failed on its circuit; retrying once on a new one', { error: (err as Error).message });
        if (managed.circuit.state === 'open') managed.circuit.destroy(err.code);
      }
    }
  }

  close(): void {
    this.manager.closeAll();
    this.links.closeAll();
  }
}

/** The port a fetch stream's exit connects to: the URL's, or its scheme's default. */
function destinationPort(url: URL): number | undefined {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : url.protocol === 'http:' ? 80 : undefined;
}

/** Fetch's redirect rules (WHATWG Fetch §4.4): 303, and 301/302 after POST, become GET. */
function followRedirect(request: EncodedRequest, status: number, location: string): EncodedRequest {
  const url = new URL(location, request.url).toString();
  const toGet = status === 303 ? request.method !== 'HEAD' : (status === 301 || status === 302) && request.method === 'POST';
  const crossOrigin = new URL(url).origin !== new URL(request.url).origin;
  const headers = request.headers.filter(([name]) => {
    if (toGet && /^content-/i.test(name)) return false;
    return !(crossOrigin && /^(authorization|cookie)$/i.test(name));
  });
  return { method: toGet ? 'GET' : request.method, url, headers, body: toGet ? null : request.body };
}

function withUrl(response: Response, url: string, redirected: boolean): Response {
  Object.defineProperty(response, 'url', { value: url });
  Object.defineProperty(response, 'redirected', { value: redirected });
  return response;
}
