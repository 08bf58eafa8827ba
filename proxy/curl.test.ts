// The front ends against a real client: curl, as a user would point it at `allium proxy`.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../node/log.ts';
import { isolationKey } from './isolation-key.ts';
import { startProxy, type RunningProxy } from './server.ts';
import { createTestOpener, patternBytes, startOriginServer, type OriginServer, type TestOpener } from './test-harness.ts';

const quiet = createLogger('test', new Writable({ write: (_chunk, _encoding, done) => done() }));
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

let origin: OriginServer;
let opener: TestOpener;
let proxy: RunningProxy;
let originUrl: string;
let scratch: string;

beforeAll(async () => {
  origin = await startOriginServer();
  originUrl = `http://origin.allium.test:${origin.port}`;
  opener = createTestOpener({ names: { 'origin.allium.test': '127.0.0.1' }, refuse: { 'policy.test': 'EXIT_POLICY_REFUSED' } });
  proxy = await startProxy({ opener, socks: { port: 0 }, http: { port: 0 }, log: quiet });
  scratch = await mkdtemp(join(tmpdir(), 'allium-proxy-'));
});

afterAll(async () => {
  await proxy.close();
  origin.server.close();
  await rm(scratch, { recursive: true, force: true });
});

function curl(...args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    // --noproxy '' keeps any proxy variables of the environment out of the way.
    execFile('curl', ['-sS', '--max-time', '20', '--noproxy', '', ...args], { encoding: 'buffer', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr: stderr.toString() });
    });
  });
}

describe('curl through the proxy', () => {
  it('--socks5-hostname: the name reaches the opener unresolved', async () => {
    const { code, stdout, stderr } = await curl('--socks5-hostname', proxy.socks!, `${originUrl}/hello`);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.toString()).toBe('hello from origin\n');
    expect(opener.calls.at(-1)).toEqual({ host: 'origin.allium.test', port: origin.port, isolationKey: 'socks5' });
  });

  it('socks5h:// with credentials selects their isolation key, 4 MiB intact', async () => {
    const { code, stdout } = await curl('-x', `socks5h://alice:wonderland@${proxy.socks}`, `${originUrl}/big?n=${4 << 20}`);
    expect(code).toBe(0);
    expect(sha256(stdout)).toBe(sha256(patternBytes(4 << 20)));
    expect(opener.calls.at(-1)!.isolationKey).toBe(isolationKey('socks5', { username: Buffer.from('alice'), password: Buffer.from('wonderland') }));
  });

  it('-x http:// with an absolute URI, GET and POST', async () => {
    const get = await curl('-x', `http://${proxy.http}`, `${originUrl}/hello`);
    expect(get.code).toBe(0);
    expect(get.stdout.toString()).toBe('hello from origin\n');
    // Over 1 MiB, so curl also sends Expect: 100-continue.
    const body = patternBytes(3 << 20);
    const file = join(scratch, 'body.bin');
    await writeFile(file, body);
    const post = await curl('-x', `http://bob:builder@${proxy.http}`, '--data-binary', `@${file}`, `${originUrl}/echo`);
    expect(post.code).toBe(0);
    expect(sha256(post.stdout)).toBe(sha256(body));
    expect(opener.calls.at(-1)!.isolationKey).toBe(isolationKey('http', { username: Buffer.from('bob'), password: Buffer.from('builder') }));
  });

  it('-x http:// --proxytunnel (CONNECT)', async () => {
    const { code, stdout } = await curl('-x', `http://${proxy.http}`, '--proxytunnel', `${originUrl}/hello`);
    expect(code).toBe(0);
    expect(stdout.toString()).toBe('hello from origin\n');
  });

  it('reports a refusal: SOCKS5 reply 2, HTTP 403', async () => {
    const socks = await curl('--socks5-hostname', proxy.socks!, 'http://policy.test/');
    expect(socks.code).not.toBe(0);
    expect(socks.stderr).toMatch(/SOCKS5.*\(2\)|not allowed/i);
    const http = await curl('-x', `http://${proxy.http}`, '-w', '%{http_code}', '-o', '/dev/null', 'http://policy.test/');
    expect(http.stdout.toString()).toBe('403');
  });
});
