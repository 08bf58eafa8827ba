import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, startTestNetwork } from '../test/support/processes.ts';
import { fetchFrom } from './test-support.ts';

describe('allium site --pool: exits recognised from the signed relay list', () => {
  let network: Awaited<ReturnType<typeof startTestNetwork>>;
  let site: Awaited<ReturnType<typeof startService<{ site: string }>>>;
  beforeAll(async () => {
    network = await startTestNetwork({ relays: 1 });
    site = await startService<{ site: string }>(['site', '--json', '--port', '0', '--db', join(network.dir, 'site.db'), ...network.poolArgs]);
  });
  afterAll(async () => {
    await site?.stop();
    await network?.stop();
  });

  it("marks a visit from the relay's outbound address as Allium, any other as direct", async () => {
    const relayAddress = network.relays[0].outbound;
    const viaExit = await (await fetchFrom({ localAddress: relayAddress })(`${site.ready.site}/`, {})).text();
    expect(viaExit).toContain('You are using Allium');
    expect(viaExit).toContain(relayAddress);
    const direct = await (await fetchFrom({ localAddress: '127.0.0.200' })(`${site.ready.site}/`, {})).text();
    expect(direct).toContain('You are not using Allium');
  });
});
