// Aliases for creates that arrive together, taken by one statement for all of them, as a group
// commit writes several commits with one flush. Each create otherwise takes its alias with a
// statement of its own before it writes (ChildService.aliasForWrite): under a burst of creates in
// one model (an import by script, a team filling in a model) that statement was one of each
// create's two round trips to the database (issue 11, "Writes").

/** Takes `count` consecutive aliases; answers the first, or null when it took none. */
export type TakeAliases = (count: number) => Promise<number | null>;

interface Batch {
  takeAliases: TakeAliases;
  /** Per member, in the order they asked: given the batch's first alias, settles its own. */
  settle: ((first: number | null | Error) => void)[];
}

/**
 * While a statement taking aliases for one key (a model, a kind of child and the stamp of the
 * kept write decision it vouches for) is on its way, the creates that ask for one wait, then share
 * the next statement, which takes as many as they are. Aliases follow the order of asking. When
 * the statement takes none (the access changed since the stamp), each of the batch gets null and
 * decides as a lone create would.
 */
export class AliasBatches {
  /** Per key, the batch that waits for the statement on its way (present while one is). */
  private readonly pending = new Map<string, Batch | undefined>();

  /** One alias for a create; `takeAliases` is the statement for `key` (the same for every caller of a key; ChildService keeps one AliasBatches per kind). */
  take(key: string, takeAliases: TakeAliases): Promise<number | null> {
    return new Promise((resolve, reject) => {
      const settle = (first: number | null | Error) => (first instanceof Error ? reject(first) : resolve(first));
      if (!this.pending.has(key)) {
        this.pending.set(key, undefined);
        void this.run(key, { takeAliases, settle: [settle] });
        return;
      }
      const waiting = this.pending.get(key) ?? { takeAliases, settle: [] };
      const index = waiting.settle.length;
      waiting.settle.push((first) => settle(typeof first === 'number' ? first + index : first));
      this.pending.set(key, waiting);
    });
  }

  private async run(key: string, batch: Batch): Promise<void> {
    let first: number | null | Error;
    try {
      first = await batch.takeAliases(batch.settle.length);
    } catch (err) {
      first = err instanceof Error ? err : new Error(String(err));
    }
    for (const settle of batch.settle) settle(first);
    const next = this.pending.get(key);
    if (next) {
      this.pending.set(key, undefined);
      void this.run(key, next);
    } else {
      this.pending.delete(key);
    }
  }
}
