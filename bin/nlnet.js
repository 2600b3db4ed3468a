#!/usr/bin/env node
// The `nlnet` command; everything is in dist/cli/main.js (built from lib/cli/ by tsc).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
