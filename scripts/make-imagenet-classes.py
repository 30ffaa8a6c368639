#!/usr/bin/env python3
# Writes examples/browser/lib/imagenet-classes.js: the 1000 ImageNet class names, in class-index
# order, that the browser demo shows for a 1000-class model (official RepVGG checkpoints). Taken
# from torchvision's list (Debian's python3-torchvision, BSD-3-Clause), read as text, not imported.
import ast
import json
import pathlib

src = pathlib.Path('/usr/lib/python3/dist-packages/torchvision/models/_meta.py').read_text()
tree = ast.parse(src)
names = next(ast.literal_eval(n.value) for n in tree.body
             if isinstance(n, ast.Assign) and getattr(n.targets[0], 'id', '') == '_IMAGENET_CATEGORIES')
assert len(names) == 1000, len(names)
out = pathlib.Path(__file__).resolve().parent.parent / 'examples/browser/lib/imagenet-classes.js'
lines = ['// The 1000 ImageNet class names by class index (torchvision\'s list, BSD-3-Clause), for 1000-class',
         '// models in the browser demo. Written by scripts/make-imagenet-classes.py; do not edit.',
         'export const IMAGENET_CLASSES = Object.freeze([']
for i in range(0, 1000, 6):
    lines.append('  ' + ' '.join(json.dumps(n) + ',' for n in names[i:i + 6]))
lines.append(']);')
out.write_text('\n'.join(lines) + '\n')
print(f'wrote {out} ({len(names)} names)')
