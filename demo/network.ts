// A whole Allium network on one machine: a pool, N relays and the demo site.
// Each relay sends its outbound traffic from its own loopback address (127.0.0.2, 127.0.0.3, …)
// so a destination can tell exit traffic from direct traffic, as on a real network.
import { startPool, type RunningPool } from '../pool/server.ts';
import { startRelay, type RunningRelay } from '../relay/relay.ts';
import { dataFile } from '../node/data-dir.ts';
import type { Logger } from '../node/log.ts';
import { nodeCrypto } from '../node/crypto.ts';
import { toBase64Url } from '../shared/bytes.ts';
import { startSite, type RunningSite } from '../site/server.ts';
import { addUser } from '../site/users.ts';
import { poolExitAddresses } from '../site/exit-addresses.ts';

export interface DemoOptions {
  relays: number;
  /** Pool on basePort, relays on basePort+1…; 0 picks free ports. */
  basePort: number;
  /** Where the demo keeps its keys, so the pool key and relay ids stay the same across runs. */
  stateDir?: string;
  log: Logger;
}

export interface DemoNetwork {
  pool: RunningPool;
  relays: { id: string; url: string; outbound: string; relay: RunningRelay }[];
  site: RunningSite;
  /** The account the demo seeds on its site (a new password every run). */
  user: { name: string; password: string };
  close(): Promise<void>;
}

export const DEMO_USER = 'demo';

/** Short timings so a stopped relay leaves the list within seconds, not minutes. */
export const DEMO_POOL_TIMINGS = { heartbeatPeriodMs: 2_000, deprecationDelayMs: 6_000, gcIntervalMs: 2_000 };

export async function startDemoNetwork(options: DemoOptions): Promise<DemoNetwork> {
  if (options.relays < 3 || options.relays > 250) throw new Error('a demo network needs between 3 and 250 relays');
  const port = (offset: number) => (options.basePort === 0 ? 0 : options.basePort + offset);
  const stateFile = (name: string) => (options.stateDir ? `${options.stateDir}/${name}` : dataFile(`demo/${name}`));
  const pool = await startPool({ port: port(0), keyFile: stateFile('pool-key.json'), log: options.log.child('pool'), ...DEMO_POOL_TIMINGS });
  const poolRef = { url: pool.url, key: pool.poolKey };
  const relays: DemoNetwork['relays'] = [];
  try {
    const started = await Promise.all(
      Array.from({ length: options.relays }, async (_, i) => {
        const outbound = `127.0.0.${i + 2}`;
        const relay = await startRelay({
          pools: [poolRef],
          keyFile: stateFile(`relay-${i + 1}-key.json`),
          host: '127.0.0.1',
          port: port(i + 1),
          outbound,
          allowPrivate: true,
          nickname: `demo${i + 1}`,
          log: options.log.child(`relay${i + 1}`),
        });
        return { id: relay.id, url: relay.url, outbound, relay };
      }),
    );
    relays.push(...started);
  } catch (err) {
    await pool.close();
    throw err;
  }
  const user = { name: DEMO_USER, password: toBase64Url(nodeCrypto.randomBytes(12)) };
  let site: RunningSite;
  try {
    const db = stateFile('site.db');
    await addUser(db, user.name, user.password);
    site = await startSite({
      db,
      port: port(options.relays + 1),
      exitAddresses: poolExitAddresses([poolRef], { fetch, crypto: nodeCrypto }),
      logger: options.log.child('site'),
    });
  } catch (err) {
    await Promise.all(relays.map((r) => r.relay.close()));
    await pool.close();
    throw err;
  }
  return {
    pool,
    relays,
    site,
    user,
    async close() {
      await site.close();
      await Promise.all(relays.map((r) => r.relay.close()));
      await pool.close();
    },
  };
}
