/** `node --import ./test/helpers/import-log.mjs …`: records which modules a process imports (see import-log-hooks.mjs). */
import { register } from 'node:module';

register('./import-log-hooks.mjs', import.meta.url);
