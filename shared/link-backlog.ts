// Which circuits own the bytes a link's transport has not sent yet. A transport (a WebSocket)
// only says how many bytes wait in it; as it sends them in order, the waiting bytes are the last
// ones handed to it, so remembering the circuit ids of recent cells, oldest first, tells whose
// bytes they are. Cells are kept as runs of one circuit id, and runs the transport has sent are
// dropped on every flush, so the record is no bigger than the backlog itself (and empty while the
// peer keeps up). This is what lets a relay short of memory close the circuits that hold it
// (Tor's MaxMemInQueues) instead of whole links.
import { CELL_SIZE } from './cell.ts';

export class LinkBacklog {
  /** Runs of [circuit id, bytes], oldest first. */
  private ids: number[] = [];
  private bytes: number[] = [];
  private head = 0;
  private total = 0;

  /** Forgets what the transport has sent: all but its last `waiting` bytes. */
  trim(waiting: number): void {
    if (waiting <= 0) {
      this.ids.length = 0;
      this.bytes.length = 0;
      this.head = 0;
      this.total = 0;
      return;
    }
    let drop = this.total - waiting;
    while (drop > 0 && this.head < this.ids.length) {
      const run = this.bytes[this.head];
      if (run > drop) {
        this.bytes[this.head] = run - drop;
        this.total -= drop;
        break;
      }
      this.total -= run;
      drop -= run;
      this.head++;
    }
    // Compact now and then, so dropped runs do not accumulate at the front.
    if (this.head > 1024 && this.head * 2 > this.ids.length) {
      this.ids = this.ids.slice(this.head);
      this.bytes = this.bytes.slice(this.head);
      this.head = 0;
    }
  }

  /** Records a cell of circuit `id` handed to the transport. */
  add(id: number): void {
    const last = this.ids.length - 1;
    if (last >= this.head && this.ids[last] === id) this.bytes[last] += CELL_SIZE;
    else {
      this.ids.push(id);
      this.bytes.push(CELL_SIZE);
    }
    this.total += CELL_SIZE;
  }

  /** Bytes waiting, by circuit id, counting the cells of `unsent` ids not handed to the transport yet too (id 0 is link-level: padding). */
  byCircuit(unsent: readonly number[]): Map<number, number> {
    const out = new Map<number, number>();
    for (let i = this.head; i < this.ids.length; i++) out.set(this.ids[i], (out.get(this.ids[i]) ?? 0) + this.bytes[i]);
    for (const id of unsent) out.set(id, (out.get(id) ?? 0) + CELL_SIZE);
    return out;
  }
}
