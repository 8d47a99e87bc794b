#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (the `prepare` script).
import { main } from '../dist/lib/cli/main.js';

process.exitCode = await main(process.argv);
