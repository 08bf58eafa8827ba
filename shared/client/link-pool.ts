// The client's links, one per first relay, shared by every circuit through that relay; cells are
// dispatched to circuits by circuit id, and a link without circuits is closed after a while.
import type { Cell } from '../cell.ts';
import type { ReasonName } from '../errors.ts';
import { dispatchByCircuit, type Link } from '../link.ts';
import { unusedCircuitId } from '../circuit-id.ts';
import type { CryptoProvider } from '../crypto/provider.ts';

export interface CircuitEndpoint {
  handleCells(cells: Cell[]): void;
  linkClosed(reason: ReasonName, detail: string): void;
}

interface Entry {
  link: Link;
  circuits: Map<number, CircuitEndpoint>;
  idleTimer?: ReturnType<typeof setTimeout>;
}

export class LinkPool {
  private readonly open: (url: string) => Promise<Link>;
  private readonly crypto: CryptoProvider;
  private readonly idleMs: number;
  private readonly entries = new Map<string, Promise<Entry>>();

  constructor(open: (url: string) => Promise<Link>, crypto: CryptoProvider, idleMs = 60_000) {
    this.open = open;
    this.crypto = crypto;
    this.idleMs = idleMs;
  }

  /** Registers a circuit on the link to url (opening it if needed) and returns its id. */
  async attach(url: string, endpoint: (circuitId: number, link: Link) => CircuitEndpoint): Promise<{ link: Link; circuitId: number }> {
    const entry = await this.entry(url);
    clearTimeout(entry.idleTimer);
    const circuitId = unusedCircuitId(this.crypto, entry.circuits);
    entry.circuits.set(circuitId, endpoint(circuitId, entry.link));
    return { link: entry.link, circuitId };
  }

  detach(url: string, circuitId: number): void {
    void this.entries.get(url)?.then((entry) => {
      entry.circuits.delete(circuitId);
      if (entry.circuits.size === 0) {
        clearTimeout(entry.idleTimer);
        entry.idleTimer = setTimeout(() => entry.circuits.size === 0 && entry.link.close('DONE', 'idle'), this.idleMs);
      }
    }, () => {});
  }

  closeAll(): void {
    for (const pending of this.entries.values()) void pending.then((e) => e.link.close('DONE', 'client closed'), () => {});
    this.entries.clear();
  }

  private entry(url: string): Promise<Entry> {
    let pending = this.entries.get(url);
    if (!pending) {
      pending = this.open(url).then((link) => {
        const entry: Entry = { link, circuits: new Map() };
        link.handlers = {
          onCells: (cells) => dispatchByCircuit(cells, (id) => entry.circuits.get(id)),
          onClose: (reason, detail) => {
            clearTimeout(entry.idleTimer);
            if (this.entries.get(url) === pending) this.entries.delete(url);
            for (const circuit of [...entry.circuits.values()]) circuit.linkClosed(reason, detail);
            entry.circuits.clear();
          },
        };
        return entry;
      });
      this.entries.set(url, pending);
      pending.catch(() => this.entries.delete(url));
    }
    return pending;
  }
}
