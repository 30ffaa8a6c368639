// The command line's arguments (src/cli/args.ts: flags, values, help text) and the dispatch of
// src/cli/index.ts (main help, unknown commands, exit code 2 for a bad command line), through the
// `repvgg` executable.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseArgs, type CommandSpec } from '../src/cli/args.js';
import { cli, fails, ok } from './helpers/cli.js';

test('repvgg --help and each subcommand --help exit 0', () => {
  const r = ok(cli('--help'), 'repvgg --help');
  for (const c of ['info', 'convert', 'predict']) assert.ok(r.stdout.includes(c), `main help lists ${c}`);
  for (const c of ['info', 'convert', 'predict']) {
    const h = ok(cli(c, '--help'), `${c} --help`);
    assert.ok(h.stdout.startsWith(`usage: repvgg ${c}`), `${c} --help: usage line: ${h.stdout}`);
  }
  const none = cli();
  assert.is(none.status, 2, 'no command: usage error');
  assert.ok(none.stderr.includes('usage: repvgg'), 'no command: usage on stderr');
});

test('unknown subcommands, flags and architectures are errors naming them', () => {
  fails(cli('frobnicate'), 'unknown subcommand', 'frobnicate');
  fails(cli('info', 'a0', '--bogus'), 'unknown flag', '--bogus');
  fails(cli('info', 'a0', '--classes'), 'flag without a value', '--classes');
  fails(cli('info', 'a0', '--classes', 'ten'), 'non-integer value', '--classes', 'ten');
  fails(cli('info', 'a0', '--classes', '3', '--classes', '4'), 'flag given twice', '--classes');
  fails(cli('info', 'Z9'), 'unknown architecture', 'Z9');
  fails(cli('convert', '--arch', 'a0', '--out', 'x.safetensors'), 'missing required flag', '--in');
  assert.is(cli('info', 'a0', '--bogus').status, 2, 'usage errors exit with 2');
});

test('variadic flags: every word up to the next flag, again adds to the list, =value, none is an error', () => {
  const spec: CommandSpec = {
    command: 'repvgg t', summary: '', flags: [
      { name: 'image', type: 'string', variadic: true, description: '' },
      { name: 'topk', type: 'int', description: '' },
      { name: 'json', type: 'boolean', description: '' },
    ],
  };
  const a = parseArgs(['--image', 'a.png', 'b c.jpg', '-x.png', '--topk', '3', '--image=d.png', '--json'], spec);
  assert.equal(a.flags.image, ['a.png', 'b c.jpg', '-x.png', 'd.png']);
  assert.is(a.flags.topk, 3);
  assert.throws(() => parseArgs(['--image', '--json'], spec), /--image needs at least one value/);
  assert.throws(() => parseArgs(['--image='], spec), /--image needs at least one value/);
});

test.run();
