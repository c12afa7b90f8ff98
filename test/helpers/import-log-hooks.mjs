/** Module hooks (registered by import-log.mjs): append every resolved module URL to $ACL_IMPORT_LOG. */
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (process.env.ACL_IMPORT_LOG) appendFileSync(process.env.ACL_IMPORT_LOG, r.url + '\n');
  return r;
}
