// The model metadata schema (src/models/metadata.ts): what a file says about its model, written and
// read back exactly; every official variant named; and metadata from a hostile file refused with
// a message naming the field, never a crash, a prototype write or an unbounded message.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  METADATA_FORMAT, METADATA_KEY, METADATA_LIMITS, ModelMetadataError, checkModelMetadata, configOf, describeArch,
  describeModel, imagenetPreprocessing, metadataEntries, readModelMetadata, variantOf, type ModelMetadata,
} from '../src/models/metadata.js';
import { REPVGG_VARIANTS } from '../src/models/repvgg.js';
import { throwsWith } from './helpers/throws.js';

const CUSTOM = { numBlocks: [1, 2, 2, 1] as [number, number, number, number], widthMultiplier: [0.5, 0.5, 0.5, 1] as [number, number, number, number], numClasses: 3, inChannels: 1 };

function good(): ModelMetadata {
  return describeModel(CUSTOM, {
    inputSize: [32, 48], classNames: ['cat', 'dog', 'émeu 🐦'],
    preprocessing: { resize: 36, crop: [32, 48], mean: [0.5], std: [0.25] },
  });
}

/** The __metadata__ of a file whose `repvgg` entry is `value` (JSON-encoded unless a string). */
function fileWith(value: unknown): Record<string, string> {
  return { [METADATA_KEY]: typeof value === 'string' ? value : JSON.stringify(value) };
}

test('describeModel -> metadataEntries -> readModelMetadata: the same metadata, the same config', () => {
  const m = good();
  assert.is(m.format, METADATA_FORMAT);
  assert.is(m.arch, 'custom');
  const entries = metadataEntries(m, { trainer: '{}' });
  assert.is(entries.format, 'pt', 'the key safetensors\' PyTorch loader reads');
  assert.is(entries.arch, 'custom');
  assert.is(entries.num_classes, '3');
  assert.is(entries.trainer, '{}', 'extra entries are kept');
  const back = readModelMetadata(entries, 'file');
  assert.equal(back, m);
  assert.equal(configOf(back!), { ...CUSTOM, overrideGroupsMap: {}, useSE: false });
  assert.is(readModelMetadata({ format: 'pt' }), null, 'a file without the entry has no metadata');
  assert.is(describeArch(m), 'custom RepVGG (blocks 1,2,2,1, widths 0.5,0.5,0.5,1), 3 classes, 1x32x48 input');
});

test('every official variant is named by its config; groups past the last block are dropped', () => {
  for (const [name, preset] of Object.entries(REPVGG_VARIANTS)) {
    assert.is(variantOf(preset), name);
    const m = describeModel({ ...preset }, { inputSize: [224, 224], preprocessing: imagenetPreprocessing() });
    assert.is(m.arch, name);
    assert.is(metadataEntries(m).arch, `RepVGG-${name}`);
    assert.equal(readModelMetadata(metadataEntries(m)), m, name);
  }
  assert.equal(imagenetPreprocessing(), { resize: 256, crop: [224, 224], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
  assert.equal(imagenetPreprocessing(160).resize, 160, 'the official rule at other sizes: Resize(size) + CenterCrop(size)');
  const g = describeModel({ ...CUSTOM, overrideGroupsMap: { 2: 2, 4: 2, 26: 2 } }, { inputSize: [32, 32] });
  assert.equal(g.overrideGroupsMap, { 2: 2, 4: 2 }, 'only the 6 blocks that exist');
});

test('hostile metadata: each defect is a ModelMetadataError naming the field', () => {
  const base = good() as unknown as Record<string, unknown>;
  const cases: [string, unknown, RegExp][] = [
    ['not JSON', '{"format": ', /not valid JSON/],
    ['not an object', '[1, 2]', /must be a JSON object, got a list of 2/],
    ['other format', { ...base, format: 'repvgg-wasm-model-9' }, /format is the text "repvgg-wasm-model-9", expected "repvgg-wasm-model-1"/],
    ['unknown field', { ...base, evil: 1 }, /unknown field "evil"/],
    ['proto field', JSON.parse(`{${JSON.stringify(base).slice(1, -1)}, "__proto__": {"x": 1}}`), /unknown field "__proto__"/],
    ['missing field', { ...base, inputSize: undefined }, /missing field inputSize/],
    ['bad arch', { ...base, arch: 'constructor' }, /arch must be "custom" or one of A0, .*got the text "constructor"/],
    ['arch vs config', { ...base, arch: 'A0' }, /arch says RepVGG-A0 but the blocks, widths, groups or SE differ/],
    ['blocks', { ...base, numBlocks: [1, 2, 2] }, /numBlocks must be a list of 4, got a list of 3/],
    ['huge stage', { ...base, numBlocks: [1, 2, 1e9, 1] }, /numBlocks\[2\] must be an integer from 1 to 1000, got 1000000000/],
    ['width', { ...base, widthMultiplier: [0.5, 0.5, -1, 1] }, /widthMultiplier\[2\] must be a number in \(0, 64\]/],
    ['zero channels', { ...base, widthMultiplier: [0.001, 0.5, 0.5, 1] }, /0 channels/],
    ['groups key', { ...base, overrideGroupsMap: { 99: 2 } }, /overrideGroupsMap key "99" is not a block index from 1 to 6/],
    ['groups value', { ...base, overrideGroupsMap: { 2: 0.5 } }, /overrideGroupsMap\[2\] must be an integer from 1 to 4096/],
    ['groups do not divide', { ...base, overrideGroupsMap: { 2: 3 } }, /block stage2\.0 has 32 -> 64 channels, not divisible into 3 groups/],
    ['SE', { ...base, useSE: 'yes' }, /useSE must be true or false/],
    ['SE too narrow', { ...base, useSE: true, widthMultiplier: [0.2, 0.5, 0.5, 1] }, /useSE needs at least 16 channels/],
    ['channels', { ...base, inChannels: 0 }, /inChannels must be an integer from 1 to 4096, got 0/],
    ['small input', { ...base, inputSize: [16, 32] }, /inputSize\[0\] must be an integer from 32 to 16384, got 16/],
    ['classes', { ...base, numClasses: 2 }, /classNames \(one per class\) must be a list of 2, got a list of 3/],
    ['too many classes', { ...base, numClasses: 1e7, classNames: null }, /numClasses must be an integer from 1 to 1000000/],
    ['empty name', { ...base, classNames: ['a', '', 'c'] }, /classNames\[1\] must be a text of 1 to 1000 characters/],
    ['escape in name', { ...base, classNames: ['a', 'b\u001b[2J', 'c'] }, /classNames\[1\] "b\\u001b\[2J" holds a control character/],
    ['long name', { ...base, classNames: ['a', 'x'.repeat(5000), 'c'] }, /classNames\[1\] must be a text of 1 to 1000 characters, got the text "x+"\.\.\./],
    ['mean per channel', { ...base, preprocessing: { resize: 36, crop: [32, 48], mean: [0.5, 0.5, 0.5], std: [0.25] } }, /preprocessing\.mean \(one per input channel\) must be a list of 1/],
    ['std zero', { ...base, preprocessing: { resize: 36, crop: [32, 48], mean: [0.5], std: [0] } }, /preprocessing\.std\[0\] must be a finite number > 0, got 0/],
    ['crop', { ...base, preprocessing: { resize: 36, crop: [32, 1e6], mean: [0.5], std: [1] } }, /preprocessing\.crop\[1\] must be an integer from 1 to 16384/],
    ['preprocessing field', { ...base, preprocessing: { resize: 36, crop: [32, 48], mean: [0.5], std: [1], interpolation: 'x' } }, /preprocessing: unknown field "interpolation"/],
  ];
  for (const [what, value, re] of cases) {
    const e = throwsWith(() => readModelMetadata(fileWith(value), 'f.safetensors'), [re, /^f\.safetensors/], ModelMetadataError, what);
    assert.ok(e.message.length < 400, `${what}: a short message (${e.message.length} characters)`);
    assert.not.match(e.message, /undefined|NaN|\[object/, `${what}: ${e.message}`);
  }
  assert.is(({} as Record<string, unknown>).x, undefined, 'no prototype was written');
  const long = `{"format": "${METADATA_FORMAT}", "x": "${'y'.repeat(METADATA_LIMITS.maxTextChars)}"}`;
  throwsWith(() => readModelMetadata(fileWith(long)), [/more than the 16777216 allowed/], ModelMetadataError, 'huge text');
  // The same checks guard what code hands in.
  throwsWith(() => checkModelMetadata({ ...base, numClasses: 4 }, 'mine'), [/^mine: classNames/], ModelMetadataError);
  throwsWith(() => describeModel({ ...CUSTOM, inChannels: 2 }, { inputSize: [32, 32], preprocessing: good().preprocessing }),
    [/describeModel: preprocessing\.mean \(one per input channel\) must be a list of 2/], ModelMetadataError);
});

test.run();
