import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Semaphore } from '../../src/shared/limit.js';

/** A work item that runs until released, recording when it started. */
function gated(log: string[], name: string, fail = false): { work: () => Promise<string>; release: () => void } {
  let release = (): void => undefined;
  const done = new Promise<void>((resolve) => (release = resolve));
  return {
    work: async () => {
      log.push(name);
      await done;
      if (fail) throw new Error(`${name} failed`);
      return name;
    },
    release: () => release(),
  };
}

/** Whether `run` started its work before returning (it does when the permits it needs are free, nobody waiting). */
function startsAtOnce(semaphore: Semaphore, weight: number): { started: boolean; settled: Promise<unknown> } {
  let started = false;
  const settled = semaphore.run(() => {
    started = true;
    return Promise.resolve();
  }, weight);
  return { started, settled };
}

/** Waits until `condition` holds, a turn of the event loop at a time. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

describe('semaphore (weighted, first come first served)', () => {
  it('a weight that is no count (NaN, zero, negative) holds one permit: it neither stalls nor stops the callers behind it', async () => {
    for (const weight of [Number.NaN, 0, -3]) {
      const semaphore = new Semaphore(2);
      const odd = startsAtOnce(semaphore, weight);
      assert.ok(odd.started, `weight ${weight} runs while permits are free`);
      await odd.settled;
      const next = startsAtOnce(semaphore, 2);
      assert.ok(next.started, `after weight ${weight}, every permit is free again`);
      await next.settled;
    }
  });

  it('a heavy waiter is not overtaken by lighter ones behind it, a failing work returns its permits, and a weight over the count takes them all', async () => {
    const semaphore = new Semaphore(4);
    const log: string[] = [];
    const holder = gated(log, 'holder', true);
    const heavy = gated(log, 'heavy');
    const light = gated(log, 'light');
    const held = semaphore.run(holder.work, 3);
    const heavyDone = semaphore.run(heavy.work, 10);
    const lightDone = semaphore.run(light.work, 1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(log, ['holder'], 'one permit is free, yet the light waiter stays behind the heavy one');
    holder.release();
    await assert.rejects(held, /holder failed/);
    await until(() => log.length === 2);
    assert.deepEqual(log, ['holder', 'heavy'], 'the failure gave its permits back: the heavy waiter (all four) runs, alone');
    heavy.release();
    assert.equal(await heavyDone, 'heavy');
    await until(() => log.length === 3);
    assert.deepEqual(log, ['holder', 'heavy', 'light']);
    light.release();
    await lightDone;
    const full = startsAtOnce(semaphore, 4);
    assert.ok(full.started, 'every permit is back');
    await full.settled;
  });
});
