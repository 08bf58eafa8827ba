// Allium as a library, imported by its package name as a user's program would (the compiled
// entry points that `npm install` builds), not by relative paths.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TpdpError, isTpdpError } from 'allium';
import { createLogger, createNodeClient, startDemoNetwork, type DemoNetwork } from 'allium/node';
import { tempDir } from './support/processes.ts';

describe("import … from 'allium'", () => {
  let network: DemoNetwork;

  beforeAll(async () => {
    network = await startDemoNetwork({ relays: 3, basePort: 0, stateDir: tempDir(), log: createLogger('library-test', { write: () => true } as never) });
  });

  afterAll(async () => {
    await network?.close();
  });

  it('fetches and connects through a circuit with the documented API', async () => {
    const client = createNodeClient({ pools: [{ url: network.pool.url, key: network.pool.poolKey }] });
    try {
      const events: string[] = [];
      client.onCircuitEvent((e) => events.push(e.phase));
      const response = await client.fetch(network.site.url + '/');
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('You are using Allium');
      expect(events).toEqual(['building', 'open']);

      const port = Number(new URL(network.site.url).port);
      const socket = await client.connect('127.0.0.1', port, { isolationKey: 'raw' });
      const writer = socket.writable.getWriter();
      await writer.write(new TextEncoder().encode('GET /nope HTTP/1.0\r\n\r\n'));
      let text = '';
      for await (const chunk of socket.readable) text += new TextDecoder().decode(chunk);
      expect(text).toMatch(/^HTTP\/1\.[01] 404/);

      const refused = await client.connect('127.0.0.1', 1).then(() => undefined, (e: unknown) => e);
      expect(isTpdpError(refused)).toBe(true);
      expect(refused).toBeInstanceOf(TpdpError);
      expect((refused as TpdpError).code).toBe('DESTINATION_CONNECTION_ERROR');
    } finally {
      client.close();
    }
  });
});
