// A small, safe unpickler: Python's pickle protocols 2-5 (the binary opcodes; torch.save uses
// protocol 2) into plain JavaScript values. It never runs code from the file.
//
// Safety by construction: a GLOBAL (a class or function reference) becomes whatever the
// caller's `findClass` hook returns. The default is an inert `PyGlobal` placeholder, and calling
// one (REDUCE, NEWOBJ) only records a `PyObject` with its class and arguments. So a file can name
// any class it likes; only the functions the caller chose to implement ever run, and the caller
// decides whether a placeholder in the result is an error. Every length is checked against the
// remaining input before use, every opcode consumes input, and the loop ends at STOP or at the
// end of the data, so a corrupt pickle fails with an Error naming the opcode and its offset.
//
// Bounded: the opcodes executed, the stack (values and open MARKs), the memo and a call's
// arguments are capped (./limits.ts), and a call also pays for the lengths of its arguments, so a
// memoized list cannot be handed to a constructor a million times for free. Time and memory are
// thus linear in maxPickleOps whatever the file holds.
//
// Python values map to: None -> null, bool -> boolean, int -> number (bigint beyond 2^53),
// float -> number, str -> string, bytes -> Uint8Array, list -> array, tuple -> frozen array,
// dict -> Map, set/frozenset -> Set.
import { ByteReader, decodeLatin1, decodeUtf8 } from './bytes.js';
import { exceeded, pickleLimits, type ReadLimits } from './limits.js';
import { describeFileValue as describe, quote } from '../format.js';

/** A class or function named by the pickle, not resolved to anything. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  toString(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An instance of a class the caller did not implement: its class, constructor arguments and
 * whatever the pickle set on it (BUILD state, list or dict items). */
export class PyObject {
  state: unknown = undefined;
  readonly listItems: unknown[] = [];
  readonly dictItems = new Map<unknown, unknown>();
  constructor(readonly cls: PyGlobal, readonly args: readonly unknown[]) {}
  toString(): string {
    return `a ${String(this.cls)} object`;
  }
}

export interface UnpickleHooks {
  /** Resolves GLOBAL / STACK_GLOBAL. Return a function to make it callable (REDUCE calls it with
   * the argument tuple spread); return anything else to leave it a value. Default: PyGlobal. */
  findClass?(module: string, name: string): unknown;
  /** Resolves a persistent id (BINPERSID / PERSID). Default: an error. */
  persistentLoad?(pid: unknown): unknown;
}

export interface UnpickleResult {
  value: unknown;
  /** Offset just past the STOP opcode (pickles can be concatenated, as in legacy torch files). */
  end: number;
}

// Python 2 module names that protocol 2 writes for compatibility (pickle's fix_imports). A Map:
// a name from the file must never find Object.prototype's members ('__proto__', 'constructor').
const PY2_MODULES = new Map([['__builtin__', 'builtins'], ['copy_reg', 'copyreg']]);

class PickleError extends Error {}

/** A Python int as a number when exact, else a bigint. */
function safeInt(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** The work a call's arguments stand for: each argument's length (a list, a string, bytes...). */
function argumentsSize(args: readonly unknown[]): number {
  let n = args.length;
  for (const a of args) {
    if (Array.isArray(a) || typeof a === 'string' || a instanceof Uint8Array) n += a.length;
    else if (a instanceof Map || a instanceof Set) n += a.size;
  }
  return n;
}

/** A memo key or a protocol-0 integer argument: decimal digits only (never NaN). */
function textInt(s: string): number | null {
  return /^\d{1,15}$/.test(s) ? Number(s) : null;
}

/**
 * Reads one pickle from `bytes` starting at `start`. `what` prefixes error messages; `limits`
 * overrides the pickle limits of ./limits.ts.
 */
export function unpickle(bytes: Uint8Array, hooks: UnpickleHooks = {}, what = 'pickle', start = 0,
  limits: ReadLimits = {}): UnpickleResult {
  const { maxPickleOps, maxPickleStack, maxPickleMemo, maxPickleCallArgs } = pickleLimits(limits);
  const r = new ByteReader(bytes, what, start);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let opPos = 0;
  let opName = '';
  let ops = 0;

  const fail = (why: string): never => {
    throw new PickleError(`${what}: ${why} (opcode ${opName} at offset ${opPos})`);
  };
  const at = (): string => `${what} (opcode ${opName} at offset ${opPos})`;
  const work = (n: number): void => {
    ops += n;
    if (ops > maxPickleOps) exceeded('maxPickleOps', at(), `the pickle runs more than ${maxPickleOps} opcodes`, maxPickleOps);
  };
  const room = (): void => {
    if (stack.length + marks.length >= maxPickleStack) {
      exceeded('maxPickleStack', at(), `the stack holds ${stack.length} values and ${marks.length} MARKs`, maxPickleStack);
    }
  };
  const push = (v: unknown): void => {
    room();
    stack.push(v);
  };
  const mark = (): void => {
    room();
    marks.push(stack.length);
  };
  const memoPut = (key: number | null, v: unknown): void => {
    if (key === null) fail('bad memo key');
    if (!memo.has(key!) && memo.size >= maxPickleMemo) {
      exceeded('maxPickleMemo', at(), `the memo holds ${memo.size} entries`, maxPickleMemo);
    }
    memo.set(key!, v);
  };
  // The stack above the innermost MARK is the current frame; reaching below it is corruption.
  const frameEmpty = (): boolean => stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]);
  const pop = (): unknown => {
    if (frameEmpty()) fail('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (frameEmpty()) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) return fail('no MARK on the stack');
    return stack.splice(m);
  };
  // Text arguments (GLOBAL names, protocol-0 numbers) are short; a missing newline within 4 KiB is
  // corruption, and the cap keeps BigInt parsing of digit strings cheap.
  const line = (): string => {
    const nl = bytes.subarray(0, Math.min(bytes.length, r.pos + 4096)).indexOf(0x0a, r.pos);
    if (nl < 0) fail('no end of line within 4096 bytes: truncated or corrupt');
    const s = decodeLatin1(bytes.subarray(r.pos, nl));
    r.pos = nl + 1;
    return s;
  };
  const memoGet = (i: number | null): unknown => {
    if (i === null) fail('bad memo key');
    if (!memo.has(i!)) fail(`memo key ${i} was never stored`);
    return memo.get(i!);
  };
  const int = (b: Uint8Array): number | bigint => {
    // Little-endian two's complement of any length (LONG1 / LONG4).
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b.length && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return safeInt(v);
  };
  const global = (module: string, name: string): unknown => {
    const m = PY2_MODULES.get(module) ?? module;
    return hooks.findClass ? hooks.findClass(m, name) : new PyGlobal(m, name);
  };
  const call = (fn: unknown, args: unknown): unknown => {
    if (!Array.isArray(args)) fail(`arguments are ${describe(args)}, not a tuple`);
    const list = args as unknown[];
    if (list.length > maxPickleCallArgs) {
      exceeded('maxPickleCallArgs', at(), `a call with ${list.length} arguments`, maxPickleCallArgs, list.length);
    }
    work(argumentsSize(list));
    if (typeof fn === 'function') return (fn as (...a: unknown[]) => unknown)(...(args as unknown[]));
    if (fn instanceof PyGlobal) return new PyObject(fn, args as unknown[]);
    return fail(`cannot call ${describe(fn)}`);
  };
  const setItems = (target: unknown, items: unknown[]): void => {
    if (items.length % 2) fail('odd number of items for a dict');
    const dict = target instanceof Map ? target : target instanceof PyObject ? target.dictItems : fail(`cannot set items on ${describe(target)}`);
    for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
  };
  const append = (target: unknown, items: unknown[]): void => {
    // A loop, not push(...items): spreading a long APPENDS would overflow the call stack.
    const list = Array.isArray(target) && !Object.isFrozen(target) ? target
      : target instanceof PyObject ? target.listItems : fail(`cannot append to ${describe(target)}`);
    for (const x of items) list.push(x);
  };
  const addItems = (target: unknown, items: unknown[]): void => {
    if (!(target instanceof Set)) fail(`cannot add items to ${describe(target)}`);
    for (const x of items) (target as Set<unknown>).add(x);
  };
  const str = (n: number): string => {
    const at = r.pos;
    return decodeUtf8(r.take(n, 'a string'), `${what}: string at offset ${at}`);
  };
  const tuple = (items: unknown[]): unknown[] => Object.freeze(items) as unknown[];

  try {
    for (;;) {
      opPos = r.pos;
      if (r.remaining === 0) {
        opName = 'end of data';
        fail('truncated: no STOP opcode');
      }
      const op = r.u8();
      opName = `0x${op.toString(16).padStart(2, '0')}`;
      work(1);
      switch (op) {
        case 0x80: { // PROTO
          const v = r.u8('the protocol number');
          if (v > 5) fail(`unsupported pickle protocol ${v}`);
          break;
        }
        case 0x95: r.take(8, 'a frame length'); break; // FRAME: framing is only a read-ahead hint
        case 0x2e: // STOP '.'
          if (marks.length) fail('STOP inside a MARK');
          return { value: pop(), end: r.pos };
        case 0x28: mark(); break; // MARK '('
        case 0x30: pop(); break; // POP '0'
        case 0x31: popMark(); break; // POP_MARK '1'
        case 0x32: push(top()); break; // DUP '2'

        // Constants and numbers.
        case 0x4e: push(null); break; // NONE 'N'
        case 0x88: push(true); break; // NEWTRUE
        case 0x89: push(false); break; // NEWFALSE
        case 0x4b: push(r.u8()); break; // BININT1 'K'
        case 0x4d: push(r.u16()); break; // BININT2 'M'
        case 0x4a: push(r.i32()); break; // BININT 'J'
        case 0x8a: push(int(r.take(r.u8('a LONG1 length'), 'a LONG1'))); break; // LONG1
        case 0x8b: { // LONG4
          const n = r.i32('a LONG4 length');
          // Building a bigint costs O(n^2) here; ints past 2^2048 have no place in a checkpoint.
          if (n < 0 || n > 256) fail(`LONG4 of ${n} bytes`);
          push(int(r.take(n, 'a LONG4')));
          break;
        }
        case 0x47: push(r.f64be()); break; // BINFLOAT 'G'
        case 0x49: { // INT 'I' (text; also encodes bools as I00/I01)
          const s = line();
          if (s === '00' || s === '01') push(s === '01');
          else if (/^[-+]?\d+$/.test(s)) push(safeInt(BigInt(s)));
          else fail(`bad INT ${quote(s)}`);
          break;
        }
        case 0x4c: { // LONG 'L' (text)
          const s = line().replace(/L$/, '');
          if (!/^[-+]?\d+$/.test(s)) fail(`bad LONG ${quote(s)}`);
          push(safeInt(BigInt(s)));
          break;
        }
        case 0x46: { // FLOAT 'F' (text)
          const v = Number(line());
          if (Number.isNaN(v)) fail('bad FLOAT');
          push(v);
          break;
        }

        // Strings and bytes.
        case 0x58: push(str(r.u32('a string length'))); break; // BINUNICODE 'X'
        case 0x8c: push(str(r.u8('a string length'))); break; // SHORT_BINUNICODE
        case 0x8d: push(str(r.u64('a string length'))); break; // BINUNICODE8
        case 0x43: push(r.take(r.u8('a bytes length'), 'bytes').slice()); break; // SHORT_BINBYTES 'C'
        case 0x42: push(r.take(r.u32('a bytes length'), 'bytes').slice()); break; // BINBYTES 'B'
        case 0x8e: push(r.take(r.u64('a bytes length'), 'bytes').slice()); break; // BINBYTES8
        case 0x96: push(r.take(r.u64('a bytearray length'), 'bytes').slice()); break; // BYTEARRAY8
        // Python 2 str (BINSTRING / SHORT_BINSTRING): bytes that Python 3 decodes as latin-1 by default.
        case 0x55: push(decodeLatin1(r.take(r.u8('a string length'), 'a string'))); break;
        case 0x54: {
          const n = r.i32('a string length');
          if (n < 0) fail('negative BINSTRING length');
          push(decodeLatin1(r.take(n, 'a string')));
          break;
        }

        // Containers.
        case 0x7d: push(new Map()); break; // EMPTY_DICT '}'
        case 0x5d: push([]); break; // EMPTY_LIST ']'
        case 0x29: push(tuple([])); break; // EMPTY_TUPLE ')'
        case 0x8f: push(new Set()); break; // EMPTY_SET
        case 0x85: push(tuple([pop()])); break; // TUPLE1
        case 0x86: { const b = pop(); const a = pop(); push(tuple([a, b])); break; } // TUPLE2
        case 0x87: { const c = pop(); const b = pop(); const a = pop(); push(tuple([a, b, c])); break; } // TUPLE3
        case 0x74: push(tuple(popMark())); break; // TUPLE 't'
        case 0x6c: push(popMark()); break; // LIST 'l'
        case 0x64: { const m = new Map(); setItems(m, popMark()); push(m); break; } // DICT 'd'
        case 0x91: push(new Set(popMark())); break; // FROZENSET
        case 0x61: { const x = pop(); append(top(), [x]); break; } // APPEND 'a'
        case 0x65: { const xs = popMark(); append(top(), xs); break; } // APPENDS 'e'
        case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM 's'
        case 0x75: { const xs = popMark(); setItems(top(), xs); break; } // SETITEMS 'u'
        case 0x90: { const xs = popMark(); addItems(top(), xs); break; } // ADDITEMS

        // Memo.
        case 0x71: memoPut(r.u8(), top()); break; // BINPUT 'q'
        case 0x72: memoPut(r.u32(), top()); break; // LONG_BINPUT 'r'
        case 0x94: memoPut(memo.size, top()); break; // MEMOIZE
        case 0x70: memoPut(textInt(line()), top()); break; // PUT 'p'
        case 0x68: push(memoGet(r.u8())); break; // BINGET 'h'
        case 0x6a: push(memoGet(r.u32())); break; // LONG_BINGET 'j'
        case 0x67: push(memoGet(textInt(line()))); break; // GET 'g'

        // Classes, calls and persistent ids: resolved only through the hooks.
        case 0x63: { const module = line(); const name = line(); push(global(module, name)); break; } // GLOBAL 'c'
        case 0x93: { // STACK_GLOBAL
          const name = pop();
          const module = pop();
          if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
          push(global(module as string, name as string));
          break;
        }
        case 0x52: { const args = pop(); const fn = pop(); push(call(fn, args)); break; } // REDUCE 'R'
        case 0x81: { const args = pop(); const cls = pop(); push(call(cls, args)); break; } // NEWOBJ
        case 0x92: { pop(); const args = pop(); const cls = pop(); push(call(cls, args)); break; } // NEWOBJ_EX (kwargs dropped)
        case 0x62: { // BUILD 'b': object state (__setstate__ / __dict__)
          const state = pop();
          const obj = top();
          if (obj instanceof PyObject) obj.state = state;
          // Other targets (an OrderedDict's _metadata, a tensor's extra state) are not needed here.
          break;
        }
        case 0x51: { // BINPERSID 'Q'
          const pid = pop();
          if (!hooks.persistentLoad) fail('persistent id with no persistentLoad hook');
          push(hooks.persistentLoad!(pid));
          break;
        }
        case 0x50: { // PERSID 'P'
          const pid = line();
          if (!hooks.persistentLoad) fail('persistent id with no persistentLoad hook');
          push(hooks.persistentLoad!(pid));
          break;
        }
        case 0x82: case 0x83: case 0x84: fail('extension registry codes (EXT1/2/4) are not supported'); break;
        case 0x97: case 0x98: fail('out-of-band buffers (protocol 5) are not supported'); break;
        case 0x53: case 0x56: case 0x69: case 0x6f:
          fail(`text-mode opcode '${String.fromCharCode(op)}' (protocol 0/1) is not supported`); break;
        default:
          fail('unknown opcode: the data is corrupt or not a pickle');
      }
    }
  } catch (e) {
    // A hook's or a reader's Error: keep its message, add where in the pickle it happened. Limit
    // errors already say where; anything else (a TypeError...) is a bug and must surface as one.
    if (e instanceof Error && e.constructor === Error) {
      e.message += ` (pickle opcode ${opName} at offset ${opPos})`;
    }
    throw e;
  }
}

/** True if `v` is a Python tuple as unpickle returns it. */
export function isTuple(v: unknown): v is readonly unknown[] {
  return Array.isArray(v) && Object.isFrozen(v);
}
