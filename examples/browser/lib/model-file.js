// A dropped or uploaded model file -> a RepVGG ready to predict: a .safetensors (as `repvgg
// convert` or this page writes them) or a PyTorch .pth/.pt (the official training or deploy
// checkpoints: zip or legacy, wrapped, 'module.'-prefixed), either form. The architecture is read
// off the weights (configFromWeights), so no one has to say which RepVGG the file holds.

/** What the predict panel shows about a model and how it feeds it. */
export function panelInfo(lib, model, { variant = null, name = '', notes = [] } = {}) {
  const c = model.config;
  // Digit networks take 32x32 (MNIST padded); ImageNet ones 224x224; anything else 32x32 (CIFAR).
  const inputSize = c.inChannels === 3 && c.numClasses === 1000 ? 224 : 32;
  // Names where the classes are known: digits, ImageNet. Others show as numbers (or a dropped
  // labels.txt names them).
  const classNames = c.numClasses === 10 && c.inChannels === 1 ? ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']
    : c.numClasses === 1000 ? [...lib.IMAGENET_CLASSES] : null;
  const arch = variant ? `RepVGG-${variant}` : `custom RepVGG (blocks ${c.numBlocks.join(',')}, widths ${c.widthMultiplier.join(',')}` +
    `${Object.keys(c.overrideGroupsMap).length ? ', groups' : ''}${c.useSE ? ', SE' : ''})`;
  return {
    name, arch, form: model.deploy ? 'deploy' : 'training', classes: c.numClasses, inChannels: c.inChannels,
    parameters: model.parameterCount(), inputSize, classNames, notes,
    // How images are normalized for it: MNIST's constants for one channel, ImageNet's for three.
    mean: c.inChannels === 1 ? [...lib.MNIST_MEAN] : c.inChannels === 3 ? [...lib.IMAGENET_MEAN] : new Array(c.inChannels).fill(0.5),
    std: c.inChannels === 1 ? [...lib.MNIST_STD] : c.inChannels === 3 ? [...lib.IMAGENET_STD] : new Array(c.inChannels).fill(0.5),
  };
}

/** Reads `bytes` (named `name` in messages) into a RepVGG in eval mode; throws a readable error. */
export function modelFromFile(lib, backend, bytes, name) {
  const format = lib.detectTensorFormat(bytes);
  if (format === null) throw new Error(`${name} is neither a PyTorch checkpoint (.pth/.pt) nor a .safetensors file`);
  if (format === 'npy') throw new Error(`${name} is an .npy array, not a model`);
  const { tensors, notes } = lib.readTensorFile(bytes);
  const { config, variant } = lib.configFromWeights(tensors);
  // init: false: every value is loaded next, strictly (a key too many or too few is an error).
  const model = new lib.RepVGG(backend, { ...config, init: false });
  try {
    lib.loadStateDict(model, tensors, { strict: true });
  } catch (e) {
    model.dispose();
    throw e;
  }
  model.eval();
  return { model, info: panelInfo(lib, model, { variant, name, notes }) };
}
