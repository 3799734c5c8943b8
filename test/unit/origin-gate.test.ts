import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AttemptResult, NetworkFailure } from '../../src/outbound/classify-outcome.js';
import { CIRCUIT_COOLDOWN_MS, CIRCUIT_FAILURE_THRESHOLD, CIRCUIT_MAX_COOLDOWN_MS, MAX_CIRCUITS } from '../../src/outbound/circuit-book.js';
import { describeCircuitOpening, OriginGate, type CircuitOpening, type Destination, type GateOptions } from '../../src/outbound/origin-gate.js';
import { destinationOfUrl } from '../../src/webhooks/webhook.js';
import { ManualClock } from '../support/memory.js';

const held = () => {
  let release: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
};
const turn = () => new Promise((resolve) => setImmediate(resolve));
const at = (origin: string, path = '/hook'): Destination => ({ origin, endpoint: `${origin}${path}` });
const failure = (network: NetworkFailure): AttemptResult => ({ kind: 'error', error: `network error: ${network}`, retryable: true, network });
const refused = failure('refused');
const unreachable = failure('unreachable');
const timedOut = failure('timeout');
const status = (code: number): AttemptResult => ({ kind: 'response', status: code, body: '' });

/** A gate on a manual clock whose refusal pauses are recorded and pass at once; `sent` counts what reached a target. */
function gateUnderTest(options: GateOptions = {}) {
  const clock = new ManualClock();
  const pauses: number[] = [];
  const gate = new OriginGate(clock.read, {
    maxConcurrency: 64,
    pause: (ms) => {
      pauses.push(ms);
      return Promise.resolve();
    },
    ...options,
  });
  const opened: CircuitOpening[] = [];
  let sent = 0;
  const attempt = (destination: Destination, result: AttemptResult | (() => Promise<AttemptResult>)) =>
    gate.attempt(destination, () => {
      sent += 1;
      return typeof result === 'function' ? result() : Promise.resolve(result);
    }, (opening) => opened.push(opening));
  return { clock, gate, pauses, opened, attempt, sent: () => sent };
}

describe('origin gate', () => {
  it('takes an HTTP target\'s endpoint as its URL without the query, fragment or credentials', () => {
    assert.deepEqual(destinationOfUrl('https://user:pw@hooks.example:8443/services/T/B/x?token=1#f'), { origin: 'https://hooks.example:8443', endpoint: 'https://hooks.example:8443/services/T/B/x' });
    assert.equal(destinationOfUrl('https://hooks.example/a?x=1').endpoint, destinationOfUrl('https://hooks.example/a?x=2').endpoint);
    assert.notEqual(destinationOfUrl('https://hooks.example/a').endpoint, destinationOfUrl('https://hooks.example/b').endpoint);
  });

  it('lets at most its concurrency onto the wire per origin, one endpoint at most half of it, the rest in arrival order', async () => {
    const { gate } = gateUnderTest({ initialConcurrency: 4 });
    const started: string[] = [];
    const holds = new Map<string, ReturnType<typeof held>>();
    const run = (name: string, path: string) => {
      const hold = held();
      holds.set(name, hold);
      return gate.track(at('https://a.example', path), async () => {
        started.push(name);
        await hold.promise;
      });
    };
    const runs = [run('x1', '/x'), run('x2', '/x'), run('x3', '/x'), run('y1', '/y'), run('y2', '/y'), run('y3', '/y')];
    assert.equal(await gate.track(at('https://b.example'), () => Promise.resolve('b')), 'b', 'another origin is not held');
    await turn();
    assert.deepEqual(started, ['x1', 'x2', 'y1', 'y2'], 'two of four slots per endpoint');
    holds.get('y1')?.release();
    await turn();
    assert.deepEqual(started, ['x1', 'x2', 'y1', 'y2', 'y3'], 'the freed slot goes to the first waiter whose endpoint has room');
    for (const hold of holds.values()) hold.release();
    await Promise.all(runs);
    assert.deepEqual(started.sort(), ['x1', 'x2', 'x3', 'y1', 'y2', 'y3']);
  });

  it('calls an attempt congested only when it would wait behind attempts that have not moved for a second', async () => {
    const { gate, clock } = gateUnderTest({ slowAfterMs: 1000 });
    const slow = at('https://shared.example', '/slow');
    const fast = at('https://shared.example', '/fast');
    const hanging = Array.from({ length: 6 }, held);
    const runs = hanging.map((hold) => gate.track(slow, () => hold.promise));
    assert.equal(gate.isCongested(slow), false, 'four on the wire, two waiting, but none slow yet');
    clock.advance(1001);
    assert.equal(gate.isCongested(slow), true, 'its share is taken by attempts on the wire for over a second');
    assert.equal(gate.isCongested(fast), false, 'another endpoint of the origin has room');
    // The fast endpoint fills the other half; its attempts keep finishing, so the origin is full but moving.
    const fastHolds = Array.from({ length: 5 }, held);
    const fastRuns = fastHolds.map((hold) => gate.track(fast, () => hold.promise));
    clock.advance(1001);
    fastHolds[0]?.release();
    await turn();
    assert.equal(gate.isCongested(fast), false, 'a slot of it moved just now');
    for (const hold of [...hanging, ...fastHolds]) hold.release();
    await Promise.all([...runs, ...fastRuns]);
    assert.equal(gate.isCongested(slow), false, 'nothing on the wire');
  });

  describe('adaptive concurrency (item: a burst must not stall)', () => {
    it('starts at 8, adds one per answer up to the maximum, and halves once per round of refusals', async () => {
      const clock = new ManualClock();
      const paused: (() => void)[] = [];
      const gate = new OriginGate(clock.read, { maxConcurrency: 64, pause: () => new Promise<void>((resume) => paused.push(resume)) });
      const origin = 'https://busy.example';
      assert.equal(gate.concurrencyOf(origin), 8);
      const keep = held();
      const kept = gate.track(at(origin, '/keep'), () => keep.promise);
      for (let n = 0; n < 100; n += 1) await gate.attempt(at(origin), () => Promise.resolve(status(n % 2 ? 500 : 200)));
      assert.equal(gate.concurrencyOf(origin), 64, 'any answer counts, up to 64');
      // 32 attempts on the wire (one endpoint's half), all refused at once: one halving, not 32.
      const wire = Array.from({ length: 32 }, held);
      let calls = 0;
      const burst = wire.map(() => gate.attempt(at(origin), () => {
        const index = calls;
        calls += 1;
        return index < 32 ? (wire[index] as ReturnType<typeof held>).promise.then(() => refused) : Promise.resolve(status(200));
      }));
      await turn();
      assert.equal(calls, 32);
      for (const hold of wire) hold.release();
      await turn();
      assert.equal(paused.length, 32, 'each refused attempt waits to go again');
      assert.equal(gate.concurrencyOf(origin), 32, 'halved once');
      for (const resume of paused) resume();
      const results = await Promise.all(burst);
      assert.ok(results.every((result) => result.kind === 'response'), 'each refused attempt was sent again and answered');
      assert.equal(calls, 64);
      assert.equal(gate.concurrencyOf(origin), 64, 'one more per answer');
      keep.release();
      await kept;
    });

    it('sends a refused attempt again within a second without answering it, halving down to 1; five refusals in a row at 1 open the circuit', async () => {
      const { gate, attempt, pauses, opened, sent } = gateUnderTest();
      const dead = at('http://127.0.0.1:9');
      assert.deepEqual(await attempt(dead, refused), refused, 'the refusal that opens the circuit is the outcome');
      assert.equal(sent(), 3 + CIRCUIT_FAILURE_THRESHOLD, '8, 4, 2, then five at concurrency 1');
      assert.equal(pauses.length, sent() - 1);
      assert.ok(pauses.every((ms) => ms >= 250 && ms <= 1000), `pauses within a second: ${pauses.join(', ')}`);
      assert.deepEqual(opened.map((opening) => [opening.scope, opening.cooldownMs]), [['origin', 30_000]]);
      assert.equal(gate.concurrencyOf(dead.origin), 1, 'kept while idle: an attempt put off and made again starts from there');
      assert.equal((await attempt(dead, status(200))).kind, 'held');
      assert.equal(sent(), 8, 'nothing more reaches it');
    });

    it('serves a receiver that takes five connections at once: every attempt answered, none failed, no circuit', async () => {
      const { gate, attempt, opened } = gateUnderTest();
      let open = 0;
      let refusals = 0;
      const receiver = async (): Promise<AttemptResult> => {
        if (open >= 5) {
          refusals += 1;
          return refused;
        }
        open += 1;
        await turn();
        open -= 1;
        return status(200);
      };
      const results = await Promise.all(Array.from({ length: 300 }, () => attempt(at('http://small.example'), receiver)));
      assert.ok(refusals > 0, 'the receiver did refuse');
      assert.deepEqual(results.filter((result) => result.kind !== 'response'), []);
      assert.deepEqual(opened, []);
      assert.equal(gate.heldUntil(at('http://small.example')), undefined);
    });

    it('puts an attempt off, unsent, once its refusals outlast the retry budget', async () => {
      const clock = new ManualClock();
      const pause = (ms: number) => {
        clock.advance(ms);
        return Promise.resolve();
      };
      const gate = new OriginGate(clock.read, { initialConcurrency: 64, refusedRetryBudgetMs: 2500, random: () => 1, pause });
      let sent = 0;
      const result = await gate.attempt(at('http://busy.example'), () => {
        sent += 1;
        return Promise.resolve(refused);
      });
      assert.deepEqual(result, { kind: 'held', retryAt: clock.now + 1000 }, 'a third pause would pass the budget');
      assert.equal(sent, 3);
    });
  });

  describe('endpoint circuits (item: one endpoint\'s timeouts must not hold its origin)', () => {
    it('counts timeouts per endpoint: five in a row hold that endpoint alone, never the origin or its concurrency', async () => {
      const { gate, attempt, opened, clock } = gateUnderTest();
      const slow = at('https://hooks.example', '/services/T0/B1/secret');
      const fast = at('https://hooks.example', '/services/T0/B2/other');
      for (let n = 0; n < 4; n += 1) await attempt(slow, timedOut);
      await attempt(slow, status(500));
      for (let n = 0; n < 4; n += 1) await attempt(slow, timedOut);
      assert.equal(gate.heldUntil(slow), undefined, 'an answer from the endpoint restarts its count');
      await attempt(slow, timedOut);
      assert.deepEqual(opened, [{ scope: 'endpoint', origin: 'https://hooks.example', failures: 5, cooldownMs: 30_000 }]);
      assert.equal(describeCircuitOpening(opened[0] as CircuitOpening), 'an endpoint on https://hooks.example held after 5 timeouts in a row: no attempt to it for 30 s');
      assert.equal(gate.heldUntil(slow), clock.now + 30_000);
      assert.equal(gate.heldUntil(fast), undefined);
      assert.deepEqual(await attempt(fast, status(200)), status(200), 'the other endpoint of the origin goes');
      assert.equal(gate.concurrencyOf(slow.origin), 8, 'timeouts never shrank the origin');
      assert.equal((await attempt(slow, status(200))).kind, 'held');
    });

    it('gives a held endpoint the origin\'s cool-down rules: one probe, doubled on a timeout, closed by an answer', async () => {
      const { gate, attempt, opened, clock, sent } = gateUnderTest({ circuit: { cooldownMs: 5000 } });
      const slow = at('https://api.example', '/slow');
      for (let n = 0; n < 5; n += 1) await attempt(slow, timedOut);
      clock.advance(5000);
      const before = sent();
      assert.deepEqual(await attempt(slow, timedOut), timedOut, 'the probe is sent');
      assert.equal(sent(), before + 1);
      assert.deepEqual(opened.map((opening) => opening.cooldownMs), [5000, 10_000]);
      clock.advance(10_000);
      let answer: (result: AttemptResult) => void = () => undefined;
      const probe = attempt(slow, () => new Promise<AttemptResult>((resolve) => (answer = resolve)));
      await turn();
      assert.equal(gate.heldUntil(slow), clock.now, 'half-open with its probe on the wire');
      answer(status(200));
      await probe;
      assert.equal(gate.heldUntil(slow), undefined);
    });

    it('sends away the attempts waiting for a slot when their endpoint is held, even when the freed slot goes to another', async () => {
      const { attempt } = gateUnderTest();
      const path = (name: string) => at('https://shared.example', `/${name}`);
      for (let n = 0; n < 4; n += 1) await attempt(path('slow'), timedOut);
      const wire = new Map<string, ((result: AttemptResult) => void)[]>();
      const outcomes: string[] = [];
      const start = (name: string) =>
        attempt(path(name), () => new Promise<AttemptResult>((resolve) => wire.set(name, [...(wire.get(name) ?? []), resolve]))).then((result) =>
          outcomes.push(`${name}:${result.kind === 'held' ? 'held' : 'sent'}`),
        );
      // The origin full (four of 8 each for slow and busy), then one other endpoint and two more slow ones waiting.
      const runs = [...['slow', 'slow', 'slow', 'slow', 'busy', 'busy', 'busy', 'busy', 'other', 'slow', 'slow'].map(start)];
      await turn();
      assert.deepEqual([wire.get('slow')?.length, wire.get('busy')?.length, wire.get('other')], [4, 4, undefined]);
      wire.get('slow')?.shift()?.(timedOut);
      await turn();
      assert.deepEqual(outcomes, ['slow:sent', 'slow:held', 'slow:held'], 'the fifth timeout holds the endpoint; its freed slot went to the other endpoint');
      assert.equal(wire.get('other')?.length, 1);
      for (const answers of wire.values()) for (const answer of answers.splice(0)) answer(status(200));
      await Promise.all(runs);
    });

    it('lets one endpoint hold at most half of its origin\'s slots, its share growing with the origin', async () => {
      const { attempt } = gateUnderTest();
      const slow = at('https://shared.example', '/slow');
      let onWire = 0;
      let peak = 0;
      const hanging = held();
      const slowRuns = Array.from({ length: 10 }, () => attempt(slow, async () => {
        onWire += 1;
        peak = Math.max(peak, onWire);
        await hanging.promise;
        onWire -= 1;
        return timedOut;
      }));
      await turn();
      assert.equal(peak, 4, 'half of 8');
      for (let n = 0; n < 2; n += 1) assert.deepEqual(await attempt(at('https://shared.example', '/fast'), status(200)), status(200));
      await turn();
      assert.equal(peak, 5, 'two answers: 10 slots, so 5');
      hanging.release();
      await Promise.all(slowRuns);
    });
  });

  describe('origin circuit', () => {
    it('opens after 5 consecutive failures to connect, never for HTTP answers or timeouts, and holds attempts back for 30 s', async () => {
      assert.deepEqual([CIRCUIT_FAILURE_THRESHOLD, CIRCUIT_COOLDOWN_MS, CIRCUIT_MAX_COOLDOWN_MS], [5, 30_000, 600_000]);
      const { clock, gate, opened, attempt, sent } = gateUnderTest();
      const dead = at('https://dead.example');
      for (let n = 0; n < 10; n += 1) assert.deepEqual(await attempt(dead, status(500)), status(500));
      for (let n = 0; n < 4; n += 1) await attempt(dead, unreachable);
      await attempt(dead, status(503));
      for (let n = 0; n < 4; n += 1) await attempt(dead, unreachable);
      await attempt(at('https://dead.example', '/other'), timedOut);
      assert.equal(gate.heldUntil(dead), undefined, 'an HTTP answer reset the count, a timeout counts for nothing: 4 in a row since');
      assert.equal(opened.length, 0);
      assert.deepEqual(await attempt(dead, unreachable), unreachable);
      assert.deepEqual(opened.map((opening) => [opening.scope, opening.cooldownMs]), [['origin', 30_000]], 'the fifth in a row opens it');
      assert.equal(describeCircuitOpening(opened[0] as CircuitOpening), 'circuit to https://dead.example opened after repeated connection failures: no attempt to it for 30 s');
      const openedAt = clock.now;
      assert.equal(gate.heldUntil(at('https://dead.example', '/any')), openedAt + 30_000, 'every endpoint of the origin');
      const before = sent();
      clock.advance(29_999);
      assert.deepEqual(await attempt(dead, status(200)), { kind: 'held', retryAt: openedAt + 30_000 });
      assert.equal(sent(), before, 'nothing reaches the origin while the circuit is open');
      assert.deepEqual(await attempt(at('https://alive.example'), status(200)), status(200), 'other origins are not held');
    });

    it('lets one probe through after the cool-down, doubles the cool-down on a failed probe up to 10 min, and resets on success', async () => {
      const { clock, gate, opened, attempt, sent } = gateUnderTest();
      const dead = at('https://dead.example');
      for (let n = 0; n < 5; n += 1) await attempt(dead, unreachable);
      for (const cooldown of [60_000, 120_000, 240_000, 480_000, 600_000, 600_000]) {
        clock.advance(opened.at(-1)?.cooldownMs ?? 0);
        const before = sent();
        assert.deepEqual(await attempt(dead, refused), refused, 'the probe is sent, and its refusal is its outcome');
        assert.equal(sent(), before + 1);
        assert.equal(opened.at(-1)?.cooldownMs, cooldown, 'and failing, reopens with twice the cool-down, at most 10 min');
        assert.equal(gate.heldUntil(dead), clock.now + cooldown);
      }
      clock.advance(600_000);
      let release: (result: AttemptResult) => void = () => undefined;
      const probe = gate.attempt(dead, () => new Promise<AttemptResult>((resolve) => (release = resolve)));
      await turn();
      assert.equal(gate.heldUntil(dead), clock.now, 'half-open: its one probe is on the wire');
      assert.equal((await attempt(dead, status(200))).kind, 'held', 'a second attempt waits for the probe');
      release(status(200));
      assert.deepEqual(await probe, status(200));
      assert.equal(gate.heldUntil(dead), undefined, 'a probe that got an answer closes the circuit');
      const count = opened.length;
      for (let n = 0; n < 5; n += 1) await attempt(dead, unreachable);
      assert.deepEqual(opened.slice(count).map((opening) => opening.cooldownMs), [30_000], 'and resets the cool-down to 30 s');
    });

    it('keeps an open circuit when the bookkeeping is full: an origin counting failures makes room instead', async () => {
      const { gate, attempt, sent } = gateUnderTest();
      const dead = at('https://dead.example');
      for (let n = 0; n < 5; n += 1) await attempt(dead, unreachable);
      const openUntil = gate.heldUntil(dead);
      assert.ok(openUntil !== undefined);
      // Other origins, each with one connection failure, fill the bookkeeping and go past it.
      for (let n = 0; n < MAX_CIRCUITS + 10; n += 1) await attempt(at(`https://other-${n}.example`), unreachable);
      assert.equal(gate.heldUntil(dead), openUntil, 'still open');
      const before = sent();
      assert.equal((await attempt(dead, status(200))).kind, 'held');
      assert.equal(sent(), before, 'nothing sent to the dead origin');
    });

    it('holds an origin for at most its cool-down when the clock goes back', async () => {
      const { clock, gate, attempt } = gateUnderTest();
      const dead = at('https://dead.example');
      for (let n = 0; n < 5; n += 1) await attempt(dead, unreachable);
      clock.advance(-3_600_000);
      const retryAt = gate.heldUntil(dead) ?? 0;
      assert.ok(retryAt <= clock.now + 30_000, `held until ${retryAt - clock.now} ms from now, not an hour more`);
      clock.advance(30_000);
      assert.deepEqual(await attempt(dead, status(200)), status(200), 'the probe goes after one cool-down');
    });

    it('takes its thresholds from the constructor, and frees the probe on a failure that is not the network\'s', async () => {
      const { clock, gate, attempt } = gateUnderTest({ circuit: { failureThreshold: 2, cooldownMs: 1000, maxCooldownMs: 3000 } });
      const dead = at('https://dead.example');
      await attempt(dead, unreachable);
      await attempt(dead, unreachable);
      assert.equal(gate.heldUntil(dead), clock.now + 1000);
      clock.advance(1000);
      await attempt(dead, { kind: 'error', error: 'blocked: private address', retryable: false });
      assert.equal(gate.heldUntil(dead), undefined, 'still half-open, the next attempt probes');
      await attempt(dead, unreachable);
      assert.equal(gate.heldUntil(dead), clock.now + 2000);
      clock.advance(2000);
      await attempt(dead, unreachable);
      clock.advance(3000);
      await attempt(dead, unreachable);
      assert.equal(gate.heldUntil(dead), clock.now + 3000, 'capped');
    });
  });
});
