// Assertions about errors: what was thrown (or rejected), of which class, saying what.
import * as assert from 'uvu/assert';

type ErrorClass = new (...args: never[]) => Error;

/** Asserts that `fn` throws an error of `kind` whose message matches every pattern; returns it.
 *  `what` names the check in failure messages. */
export function throwsWith(fn: () => unknown, patterns: RegExp[], kind: ErrorClass = Error, what?: string): Error {
  const label = what ? `${what}: ` : '';
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== null, `${label}expected an error matching ${patterns.join(' and ')}, but nothing was thrown`);
  assert.instance(caught, kind, `${label}expected ${kind.name}, got ${String(caught)}`);
  const message = (caught as Error).message;
  for (const p of patterns) assert.match(message, p, `${label}message "${message}" should match ${p}`);
  return caught as Error;
}

/** Asserts that `p` rejects with an Error whose message matches `re`. */
export async function rejectsWith(p: Promise<unknown>, re: RegExp, what: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, Error, `${what}: threw a non-Error`);
    assert.match((e as Error).message, re, `${what}: message "${(e as Error).message}" does not match ${re}`);
    return;
  }
  assert.unreachable(`${what}: did not throw`);
}

/** The Error `f` throws (asserting that it is one), for checks of its class and fields. */
export function errorOf(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    assert.instance(e, Error);
    return e as Error;
  }
  throw new assert.Assertion({ message: 'expected an error', operator: 'throws', generated: false, actual: undefined, expects: 'an error' });
}
