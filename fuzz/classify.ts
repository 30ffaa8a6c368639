// What counts as a good answer from a reader given a hostile file, and what is a bug.
//
// Good: a result (ok) or an Error of ours with a message that says what is wrong (clean-error).
// Bugs: a built-in error class (TypeError, RangeError, ...: the reader did not check something
// before using it), a message that shows an unchecked value (the words undefined or NaN, or
// "[object ...]", outside the quoted text that comes from the file), no message at all, or one of
// unbounded length. The
// runner adds the outcomes a worker cannot report itself: crash, hang, over-memory and slow.

export type Outcome = 'ok' | 'clean-error' | 'internal-error' | 'crash' | 'hang' | 'over-memory' | 'slow';

export const OUTCOMES: readonly Outcome[] = ['ok', 'clean-error', 'internal-error', 'crash', 'hang', 'over-memory', 'slow'];

/** The outcomes that fail a fuzz run. */
export const BAD_OUTCOMES: ReadonlySet<Outcome> = new Set(['internal-error', 'crash', 'hang', 'over-memory', 'slow']);

const BUILTIN_ERRORS: readonly ErrorConstructor[] = [
  TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError,
  ...(typeof AggregateError === 'function' ? [AggregateError as unknown as ErrorConstructor] : []),
];

/** Text the reader quoted from the file ('name', "header"): whatever the file says is fine there. */
function withoutQuotes(message: string): string {
  return message.replace(/'[^'\n]*'|"(?:[^"\\\n]|\\.)*"/g, '');
}

/** A message longer than this quotes the file without limit (a long list, a whole header). */
const MAX_MESSAGE = 5000;

export function classifyError(e: unknown): { outcome: 'clean-error' | 'internal-error'; name: string; message: string } {
  if (!(e instanceof Error)) return { outcome: 'internal-error', name: typeof e, message: `threw a non-Error: ${String(e)}` };
  const { name, message } = e;
  const internal = BUILTIN_ERRORS.some((c) => e instanceof c) ||
    /\bundefined\b|\bNaN\b|\[object /.test(withoutQuotes(message)) ||
    message.trim().length < 10 || message.length > MAX_MESSAGE;
  return { outcome: internal ? 'internal-error' : 'clean-error', name, message };
}
