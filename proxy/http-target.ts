// Where an HTTP proxy request goes: the authority of CONNECT (RFC 9110 §9.3.6) or the URI of an
// absolute-form request (RFC 9112 §3.2.2). Host names are normalised as WHATWG URL does
// (lowercase, punycode, canonical IP literals) and left for the exit to resolve. Errors carry a
// message meant for the client.

export interface Target {
  /** A name, IPv4 literal or IPv6 literal without brackets. */
  host: string;
  port: number;
}

const AUTHORITY = /^(\[[0-9A-Fa-f:.]+\]|[^\s[\]/?#@:]+):(\d{1,5})$/;

/** `host:port` or `[v6]:port`; the port is required. */
export function connectTarget(authority: string): Target {
  const match = AUTHORITY.exec(authority);
  const port = match ? Number(match[2]) : 0;
  if (!match || port < 1 || port > 65535) throw new Error(`CONNECT needs host:port, got "${authority}"`);
  let url: URL;
  try {
    url = new URL(`http://${match[1]}`);
  } catch {
    throw new Error(`invalid host "${match[1]}"`);
  }
  return { host: bareHost(url), port };
}

export interface AbsoluteTarget extends Target {
  /** The path and query as the client wrote them (no URL normalisation: the origin decides). */
  path: string;
  /** The Host header the origin gets: the URI's authority, which wins over any Host sent (RFC 9112 §3.2.2). */
  authority: string;
}

/** An absolute-form request target; only http: is carried this way, https: needs CONNECT. */
export function absoluteTarget(requestTarget: string): AbsoluteTarget {
  let url: URL | undefined;
  try {
    url = new URL(requestTarget);
  } catch {
    // Origin-form ("/path") and anything else that is no absolute URI.
  }
  if (url?.protocol === 'https:') throw new Error('https:// URLs go through CONNECT: use this proxy as a tunnel (CONNECT host:443)');
  const scheme = /^http:\/\//i.exec(requestTarget);
  if (url?.protocol !== 'http:' || !scheme || url.hostname === '') {
    throw new Error('this is a proxy: send CONNECT host:port, or an absolute URI (GET http://host/path)');
  }
  const afterScheme = requestTarget.slice(scheme[0].length);
  const pathStart = afterScheme.search(/[/?#]/);
  const path = (pathStart < 0 ? '/' : afterScheme.slice(pathStart)).replace(/#.*$/s, '');
  return {
    host: bareHost(url),
    port: url.port === '' ? 80 : Number(url.port),
    path: path.startsWith('/') ? path : `/${path}`,
    authority: url.host,
  };
}

function bareHost(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}
