#!/usr/bin/env node
// The `repvgg` executable (package.json "bin"). Everything is in ./index.ts; this file only runs it.
import { runCli } from './index.js';

process.exitCode = await runCli(process.argv.slice(2));
