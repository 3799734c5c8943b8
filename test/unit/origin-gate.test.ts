import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OriginGate } from '../../src/outbound/origin-gate.js';
import { ManualClock } from '../support/memory.js';

const held = () => {
  let release: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
};

describe('origin gate', () => {
  it('lets at most `permits` attempts onto the wire per origin, the rest in order', async () => {
    const clock = new ManualClock();
    const gate = new OriginGate(clock.read, 2);
    const started: number[] = [];
    const holds = [held(), held(), held(), held()];
    const runs = holds.map((hold, index) => gate.track('a', async () => {
      started.push(index);
      await hold.promise;
    }));
    const other = gate.track('b', () => Promise.resolve('b runs at once'));
    assert.equal(await other, 'b runs at once');
    await Promise.resolve();
    assert.deepEqual(started, [0, 1]);
    holds[0]?.release();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(started, [0, 1, 2]);
    for (const hold of holds) hold.release();
    await Promise.all(runs);
    assert.deepEqual(started, [0, 1, 2, 3]);
  });

  it('calls an origin congested only when attempts on the wire are slow, never a busy fast one', async () => {
    const clock = new ManualClock();
    const gate = new OriginGate(clock.read, 32, 1000, 3);
    const holds = Array.from({ length: 40 }, held);
    const runs = holds.map((hold) => gate.track('fast', () => hold.promise));
    assert.equal(gate.isCongested('fast'), false, '40 attempts, 8 waiting, but none slow');
    clock.advance(999);
    assert.equal(gate.isCongested('fast'), false);
    clock.advance(2);
    assert.equal(gate.isCongested('fast'), true, 'the oldest on the wire passed 1 s with others waiting');
    for (const hold of holds) hold.release();
    await Promise.all(runs);
    assert.equal(gate.isCongested('fast'), false);
    const few = [held(), held()];
    const slow = few.map((hold) => gate.track('slow', () => hold.promise));
    clock.advance(5000);
    assert.equal(gate.isCongested('slow'), false, 'two slow attempts alone are below minActive');
    for (const hold of few) hold.release();
    await Promise.all(slow);
  });
});
