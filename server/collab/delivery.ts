// How a session's messages travel between instances, and how its operations reach this instance's
// sockets in order. Every instance with sockets in a session listens on the session's bus channel
// (collab:<session id>): operation events, participant lists, the presenter's relays, messages for
// one user, and the session's end. Operation events carry the session's sequence number; each
// instance delivers them strictly in sequence order, filling any gap from the durable log, so every
// client sees every operation once and in the same order whichever instance it is connected to.
import type { Bus } from '../store/shared-state.ts';
import type { DiagramOperationEvent, ParticipantsUpdate, ServerMessage, ServerMessageOf } from '../../contract/collab-messages.ts';

export type BusMessage =
  | { t: 'op'; event: DiagramOperationEvent }
  | { t: 'participants'; msg: ParticipantsUpdate }
  /** To everyone but the sending socket; `origin` (the sending instance) has delivered it already. */
  | { t: 'relay'; except: string; origin: string; msg: ServerMessageOf<'presenter_cursor' | 'presenter_selection'> }
  /** The presenter changed (instances keep who presents, to check relays without a read). */
  | { t: 'presenter'; userUuid: string | null }
  /** To every socket of one user, which is then closed when `close` says so. */
  | { t: 'user'; userUuid: string; msg: ServerMessage; close?: { code: number; reason: string } }
  | { t: 'end'; reason: string };

export interface SessionChannel {
  publish(m: BusMessage): Promise<void>;
  /** Returns a function that unsubscribes. */
  subscribe(handler: (m: BusMessage) => void): Promise<() => Promise<void>>;
  /** How many instances listen on the channel, this one included. */
  listeners(): Promise<number>;
}

export function sessionChannel(bus: Bus, sessionId: string): SessionChannel {
  const name = `collab:${sessionId}`;
  return {
    publish: (m) => bus.publish(name, JSON.stringify(m)),
    subscribe: (handler) => bus.subscribe(name, (raw) => handler(JSON.parse(raw) as BusMessage)),
    listeners: () => bus.subscribers(name),
  };
}

/**
 * Hands a session's operation events to `deliver` once each, in sequence order, whatever order
 * they arrive in (the bus does not promise one across publishers) and whichever the bus lost: an
 * event ahead of the next expected one waits while the gap is read from the log.
 */
export class OrderedDelivery {
  /** Highest sequence number delivered, in order. */
  private delivered = 0;
  private readonly pending = new Map<number, DiagramOperationEvent>();
  private filling = false;

  constructor(
    /** Logged events after a sequence number, in order (at most a page of them). */
    private readonly readLog: (afterSeq: number) => Promise<DiagramOperationEvent[]>,
    private readonly deliver: (e: DiagramOperationEvent) => void,
    private readonly report: (err: unknown) => void,
  ) {}

  /** Events up to `seq` are known to the sockets by other means (state read after subscribing). */
  skipTo(seq: number): void {
    this.delivered = Math.max(this.delivered, seq);
  }

  offer(e: DiagramOperationEvent): void {
    const seq = e.sequence_number;
    if (seq <= this.delivered) return;
    if (seq === this.delivered + 1) {
      this.deliverInOrder(e);
      let next: DiagramOperationEvent | undefined;
      while ((next = this.pending.get(this.delivered + 1))) this.deliverInOrder(next);
      return;
    }
    this.pending.set(seq, e);
    void this.catchUp().catch(this.report);
  }

  /**
   * Reads what the log has beyond the last delivered event. Also run regularly: pub/sub may lose a
   * message (an instance killed mid-publish, a dropped subscriber link), and a gap is otherwise
   * noticed only when a later operation arrives.
   */
  async catchUp(): Promise<void> {
    if (this.filling) return;
    this.filling = true;
    try {
      // A higher number was published only after every lower one committed: the log has them.
      for (const e of await this.readLog(this.delivered)) this.offer(e);
    } finally {
      this.filling = false;
    }
    if ([...this.pending.keys()].some((k) => k > this.delivered)) void this.catchUp().catch(this.report);
  }

  private deliverInOrder(e: DiagramOperationEvent): void {
    this.delivered = e.sequence_number;
    this.pending.delete(e.sequence_number); // when the log delivered it first
    this.deliver(e);
  }
}
