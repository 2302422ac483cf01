// Creates in one model that ask for aliases together share one statement (server/resources/children/alias-batches.ts).
import { describe, expect, it } from 'vitest';
import { AliasBatches, type TakeAliases } from '../server/resources/children/alias-batches.ts';

/** A statement that answers when told: the counts it was asked for, and a way to answer the oldest. */
function controlledStatement(next = 1) {
  const asked: number[] = [];
  const answers: ((r: number | null | Error) => void)[] = [];
  const take: TakeAliases = (count) =>
    new Promise((resolve, reject) => {
      asked.push(count);
      answers.push((r) => {
        if (r instanceof Error) return reject(r);
        if (r === null) return resolve(null);
        resolve(next);
        next += count;
      });
    });
  const answer = async (r: number | null | Error = 0) => {
    answers.shift()!(r);
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { take, asked, answer };
}

describe('AliasBatches', () => {
  it('gives creates that ask while a statement is on its way consecutive aliases from one statement, in the order they asked', async () => {
    const batches = new AliasBatches();
    const s = controlledStatement();
    const first = batches.take('tm', s.take);
    const rest = [1, 2, 3, 4].map(() => batches.take('tm', s.take));
    expect(s.asked).toEqual([1]);
    await s.answer();
    expect(await first).toBe(1);
    expect(s.asked).toEqual([1, 4]);
    await s.answer();
    expect(await Promise.all(rest)).toEqual([2, 3, 4, 5]);
    // Nothing on its way: the next create takes its own at once.
    const later = batches.take('tm', s.take);
    expect(s.asked).toEqual([1, 4, 1]);
    await s.answer();
    expect(await later).toBe(6);
  });

  it('keeps keys apart', async () => {
    const batches = new AliasBatches();
    const a = controlledStatement();
    const b = controlledStatement(10);
    const fromA = batches.take('a', a.take);
    const fromB = batches.take('b', b.take);
    expect([a.asked, b.asked]).toEqual([[1], [1]]);
    await b.answer();
    await a.answer();
    expect([await fromA, await fromB]).toEqual([1, 10]);
  });

  it('answers null to the whole batch when the statement took none, and an error to the whole batch; the next batch still runs', async () => {
    const batches = new AliasBatches();
    const s = controlledStatement();
    const first = batches.take('tm', s.take);
    const refused = [batches.take('tm', s.take), batches.take('tm', s.take)];
    await s.answer(null);
    expect(await first).toBeNull();
    const failing = [batches.take('tm', s.take), batches.take('tm', s.take)].map((f) => f.then(String, (err: Error) => err.message));
    await s.answer(null);
    expect(await Promise.all(refused)).toEqual([null, null]);
    const afterwards = batches.take('tm', s.take);
    await s.answer(new Error('connection lost'));
    expect(await Promise.all(failing)).toEqual(['connection lost', 'connection lost']);
    await s.answer();
    expect(await afterwards).toBe(1);
    expect(s.asked).toEqual([1, 2, 2, 1]);
  });
});
