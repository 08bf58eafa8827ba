import { describe, expect, it } from 'vitest';
import { endToEndHeaders } from './http-headers.ts';

describe('endToEndHeaders', () => {
  it('drops hop-by-hop headers and those named by Connection/Proxy-Connection, keeping order and spelling', () => {
    const raw = [
      'Host', 'a', 'Connection', 'keep-alive, X-One', 'X-One', '1', 'Proxy-Connection', 'x-two', 'X-Two', '2',
      'Keep-Alive', 'timeout=5', 'Proxy-Authorization', 'Basic x', 'TE', 'trailers', 'Transfer-Encoding', 'chunked',
      'Upgrade', 'websocket', 'Trailer', 'X', 'Proxy-Authenticate', 'Basic', 'X-Kept', 'yes', 'x-kept', 'twice',
    ];
    expect(endToEndHeaders(raw)).toEqual(['Host', 'a', 'X-Kept', 'yes', 'x-kept', 'twice']);
    expect(endToEndHeaders(raw, ['host'])).toEqual(['X-Kept', 'yes', 'x-kept', 'twice']);
  });
});
