// `repvgg info` (src/cli/info.ts): an architecture's summary as JSON or a table, through the
// executable. The summary itself is tested in summary.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, fails, ok } from './helpers/cli.js';

test('info a0 --classes 10 --json: the parameter counts of the official definition', () => {
  const r = ok(cli('info', 'a0', '--classes', '10', '--json'), 'info --json');
  const s = JSON.parse(r.stdout);
  assert.is(s.arch, 'RepVGG-A0');
  assert.is(s.totals.params.train, 7840778, 'training form (PyTorch sum of parameters().numel())');
  assert.is(s.totals.params.deploy, 7041194, 'deploy form');
  assert.equal(s.rows.map((x: { name: string }) => x.name), ['stage0', 'stage1', 'stage2', 'stage3', 'stage4', 'gap', 'linear']);
  assert.equal(s.rows[4].outShape, [1280, 7, 7], 'stage4 at 224x224');
  assert.equal(s.inputShape, [1, 3, 224, 224]);
  // Other spellings and flag forms give the same answer.
  const again = JSON.parse(ok(cli('info', 'RepVGG-A0', '--classes=10', '--size=224,224', '--json'), 'info RepVGG-A0').stdout);
  assert.equal(again, s);
  const table = ok(cli('info', 'repvgg-a0', '--classes', '10', '--size', '32', '32'), 'info table').stdout;
  assert.ok(table.includes('7,840,778') && table.includes('7,041,194'), `table shows the totals:\n${table}`);
  assert.ok(table.includes('1280x1x1'), 'stage4 at 32x32 is 1x1');
});

test('info with an input smaller than 32x32 is an error naming the size', () => {
  fails(cli('info', 'a0', '--size', '16', '16'), 'size 16x16', '16x16', '32');
  fails(cli('info', 'a0', '--size', '224', '31'), 'size 224x31', '224x31');
});

test('info custom --blocks --widths; a file without metadata needs --arch; wrong flags are usage errors', () => {
  const s = JSON.parse(ok(cli('info', 'custom', '--blocks', '1,1,1,1', '--widths', '0.25,0.25,0.25,0.5', '--classes', '10',
    '--size', '32', '32', '--json'), 'info custom').stdout);
  assert.is(s.arch, null, 'no official name');
  assert.equal(s.rows[1].outShape, [16, 8, 8]);
  fails(cli('info', 'custom'), 'custom without shapes', '--arch custom needs --blocks and --widths');
  fails(cli('info', 'a0', '--blocks', '1,1,1,1'), '--blocks with a variant', '--blocks only applies to --arch custom');
  fails(cli('info', 'a0', '--arch', 'a0'), '--arch with an architecture', '--arch is for a weights file');
  fails(cli('info', 'nope.safetensors'), 'missing file', 'nope.safetensors', 'no such file');
});

test.run();
