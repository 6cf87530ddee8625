#!/usr/bin/env node
// canaryd controller entry: Node 24 runs the TypeScript sources directly.
import { run } from '../src/main.ts';

await run(process.argv.slice(2), process.env);
