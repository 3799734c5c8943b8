import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AttemptResult } from '../../src/outbound/classify-outcome.js';
import { CIRCUIT_COOLDOWN_MS, CIRCUIT_FAILURE_THRESHOLD, CIRCUIT_MAX_COOLDOWN_MS, MAX_CIRCUITS, OriginGate } from '../../src/outbound/origin-gate.js';
import { ManualClock } from '../support/memory.js';

const held = () => {
  let release: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
};

describe('origin gate', () => {
  it('lets at most `permits` attempts onto the wire per origin, the rest in order', async () => {
    const clock = new ManualClock();
    const gate = new OriginGate({ clock: clock.read, permits: 2 });
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
    const gate = new OriginGate({ clock: clock.read, permits: 32, slowAfterMs: 1000, minActive: 3 });
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

  describe('circuit breaker', () => {
    const refused: AttemptResult = { kind: 'error', error: 'network error: ECONNREFUSED', retryable: true, connectionFailed: true };
    const status = (code: number): AttemptResult => ({ kind: 'response', status: code, body: '' });
    /** A gate whose attempts to one origin answer `result`; `sent` counts what reached the origin. */
    const breaker = () => {
      const clock = new ManualClock();
      const gate = new OriginGate({ clock: clock.read, permits: 32 });
      const opened: number[] = [];
      let sent = 0;
      const attempt = (result: AttemptResult, origin = 'https://dead.example') =>
        gate.attempt(origin, () => {
          sent += 1;
          return Promise.resolve(result);
        }, (cooldownMs) => opened.push(cooldownMs));
      return { clock, gate, opened, attempt, sent: () => sent };
    };

    it('opens after 5 consecutive connection failures, never for HTTP answers, and holds attempts back for 30 s', async () => {
      assert.deepEqual([CIRCUIT_FAILURE_THRESHOLD, CIRCUIT_COOLDOWN_MS, CIRCUIT_MAX_COOLDOWN_MS], [5, 30_000, 600_000]);
      const { clock, gate, opened, attempt, sent } = breaker();
      for (let n = 0; n < 10; n += 1) assert.deepEqual(await attempt(status(500)), status(500));
      for (let n = 0; n < 4; n += 1) await attempt(refused);
      await attempt(status(503));
      for (let n = 0; n < 4; n += 1) await attempt(refused);
      assert.equal(gate.heldUntil('https://dead.example'), undefined, 'an HTTP answer reset the count: 4 in a row since');
      assert.deepEqual(opened, []);
      assert.deepEqual(await attempt(refused), refused);
      assert.deepEqual(opened, [30_000], 'the fifth in a row opens it');
      const openedAt = clock.now;
      assert.equal(gate.heldUntil('https://dead.example'), openedAt + 30_000);
      const before = sent();
      clock.advance(29_999);
      assert.deepEqual(await attempt(status(200)), { kind: 'held', retryAt: openedAt + 30_000 });
      assert.equal(sent(), before, 'nothing reaches the origin while the circuit is open');
      assert.deepEqual(await attempt(status(200), 'https://alive.example'), status(200), 'other origins are not held');
    });

    it('lets one probe through after the cool-down, doubles the cool-down on a failed probe up to 10 min, and resets on success', async () => {
      const { clock, gate, opened, attempt, sent } = breaker();
      for (let n = 0; n < 5; n += 1) await attempt(refused);
      for (const cooldown of [60_000, 120_000, 240_000, 480_000, 600_000, 600_000]) {
        clock.advance(opened.at(-1) ?? 0);
        const before = sent();
        assert.deepEqual(await attempt(refused), refused, 'the probe is sent');
        assert.equal(sent(), before + 1);
        assert.equal(opened.at(-1), cooldown, 'and failing, reopens with twice the cool-down, at most 10 min');
        assert.equal(gate.heldUntil('https://dead.example'), clock.now + cooldown);
      }
      clock.advance(600_000);
      let release: (result: AttemptResult) => void = () => undefined;
      const probe = gate.attempt('https://dead.example', () => new Promise<AttemptResult>((resolve) => (release = resolve)));
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(gate.heldUntil('https://dead.example'), clock.now, 'half-open: its one probe is on the wire');
      assert.equal((await attempt(status(200))).kind, 'held', 'a second attempt waits for the probe');
      release(status(200));
      assert.deepEqual(await probe, status(200));
      assert.equal(gate.heldUntil('https://dead.example'), undefined, 'a probe that got an answer closes the circuit');
      const count = opened.length;
      for (let n = 0; n < 5; n += 1) await attempt(refused);
      assert.deepEqual(opened.slice(count), [30_000], 'and resets the cool-down to 30 s');
    });

    it('keeps an open circuit when the bookkeeping is full: an origin counting failures makes room instead', async () => {
      const { gate, attempt, sent } = breaker();
      for (let n = 0; n < 5; n += 1) await attempt(refused);
      const openUntil = gate.heldUntil('https://dead.example');
      assert.ok(openUntil !== undefined);
      // Other origins, each with one connection failure, fill the bookkeeping and go past it.
      for (let n = 0; n < MAX_CIRCUITS + 10; n += 1) await attempt(refused, `https://other-${n}.example`);
      assert.equal(gate.heldUntil('https://dead.example'), openUntil, 'still open');
      const before = sent();
      assert.equal((await attempt(status(200))).kind, 'held');
      assert.equal(sent(), before, 'nothing sent to the dead origin');
    });

    it('holds an origin for at most its cool-down when the clock goes back', async () => {
      const { clock, gate, attempt } = breaker();
      for (let n = 0; n < 5; n += 1) await attempt(refused);
      clock.advance(-3_600_000);
      const retryAt = gate.heldUntil('https://dead.example') ?? 0;
      assert.ok(retryAt <= clock.now + 30_000, `held until ${retryAt - clock.now} ms from now, not an hour more`);
      clock.advance(30_000);
      assert.deepEqual(await attempt(status(200)), status(200), 'the probe goes after one cool-down');
    });

    it('takes its thresholds from the constructor, and frees the probe on a failure that is not the connection\'s', async () => {
      const clock = new ManualClock();
      const gate = new OriginGate({ clock: clock.read, permits: 32, circuit: { failureThreshold: 2, cooldownMs: 1000, maxCooldownMs: 3000 } });
      const origin = 'https://dead.example';
      const send = (result: AttemptResult) => gate.attempt(origin, () => Promise.resolve(result));
      await send(refused);
      await send(refused);
      assert.equal(gate.heldUntil(origin), clock.now + 1000);
      clock.advance(1000);
      await send({ kind: 'error', error: 'blocked: private address', retryable: false, connectionFailed: false });
      assert.equal(gate.heldUntil(origin), undefined, 'still half-open, the next attempt probes');
      await send(refused);
      assert.equal(gate.heldUntil(origin), clock.now + 2000);
      clock.advance(2000);
      await send(refused);
      clock.advance(3000);
      await send(refused);
      assert.equal(gate.heldUntil(origin), clock.now + 3000, 'capped');
    });
  });
});
