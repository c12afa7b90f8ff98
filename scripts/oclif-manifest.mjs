#!/usr/bin/env node
/** `npm run build`/`prepare`: writes oclif.manifest.json (see bin/manifest.js). */
import { writeManifest } from '../bin/manifest.js';

console.log(`oclif.manifest.json: ${await writeManifest()} commands`);
