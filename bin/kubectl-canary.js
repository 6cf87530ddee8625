#!/usr/bin/env node
// kubectl plugin entry point; Node 24 runs the TypeScript sources directly.
import { main } from '../src/cli/main.ts';

process.exitCode = await main(process.argv.slice(2));
