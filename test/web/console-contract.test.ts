/**
 * The web console takes the API's reply and request types from the contract (controller/api/contract.ts), not from
 * copies of its own: a change to a reply schema must break the console's typecheck (tsconfig.web.json), which a
 * hand-written copy would hide. Checked here from the sources (TypeScript's parser) and from the bundle (esbuild):
 * - no interface or object type in the console lists three or more fields that are all fields of one object of the
 *   contract (that is a copy of it: take the type from the contract, or a part of it, instead);
 * - requests go through the typed clients (`get`/`change` of controller/web/src/api.ts, keyed by the contract's route
 *   tables), never a `fetch` of the API or a reply type given by hand;
 * - the contract is imported with `import type` only, so the bundle holds no schema code (TypeBox) or server module.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { build } from 'esbuild';
import * as contract from '../../controller/api/contract.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const SRC = join(ROOT, 'controller/web/src');
const files = (d: string): string[] =>
  readdirSync(d, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(d, e.name)) : e.name.endsWith('.ts') ? [join(d, e.name)] : [],
  );

/** The property names of every object schema in the contract (nested ones included). */
function contractObjects(): Array<{ name: string; keys: ReadonlySet<string> }> {
  const out: Array<{ name: string; keys: ReadonlySet<string> }> = [];
  const seen = new Set<unknown>();
  const walk = (s: unknown, name: string): void => {
    if (s === null || typeof s !== 'object' || seen.has(s)) return;
    seen.add(s);
    const o = s as Record<string, unknown>;
    if (o.properties && typeof o.properties === 'object') {
      out.push({ name, keys: new Set(Object.keys(o.properties)) });
      for (const [k, v] of Object.entries(o.properties)) walk(v, `${name}.${k}`);
    }
    for (const k of ['items', 'anyOf', 'allOf', 'oneOf', 'additionalProperties']) for (const v of [o[k]].flat()) walk(v, name);
    for (const v of Object.values((o.patternProperties as object | undefined) ?? {})) walk(v, name);
  };
  for (const [name, v] of Object.entries(contract)) walk(v, name);
  return out;
}

interface Copy {
  readonly where: string;
  readonly fields: readonly string[];
  readonly copies: string;
}

/** Object types (interfaces, type literals) in a source whose 3+ fields are all fields of one contract object. */
export function copiesIn(file: string, text: string, objects = contractObjects()): Copy[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const out: Copy[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isInterfaceDeclaration(n) || ts.isTypeLiteralNode(n)) {
      const fields = n.members.flatMap((m) => (m.name && (ts.isIdentifier(m.name) || ts.isStringLiteral(m.name)) ? [m.name.text] : []));
      const hit = fields.length >= 3 ? objects.find((o) => fields.every((f) => o.keys.has(f))) : undefined;
      if (hit) out.push({ where: `${file}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`, fields, copies: hit.name });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** Type assertions (`x as T`, `<T>x`) in a source, but `as const` and DOM element types (`e.target as HTMLElement`). */
export function assertionsIn(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const out: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isAsExpression(n) || ts.isTypeAssertionExpression(n)) {
      const type = n.type.getText();
      if (type !== 'const' && !/^HTML\w*Element$/.test(type)) out.push(`${file}: ${n.getText()}`);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

describe('the web console takes its API types from the contract', () => {
  const sources = files(SRC).map((f) => ({ file: relative(ROOT, f), text: readFileSync(f, 'utf8') }));
  const objects = contractObjects();

  it('the copy detector finds a hand-written copy of a reply type (the one the console once had)', () => {
    expect(objects.length).toBeGreaterThan(50);
    const old = `export interface SwitchRow { readonly name?: string; readonly dpid: string; readonly connected: boolean; readonly flowsDesired: number }
      const r = await api<{ switches: number; flows: number; ms: number; errors: readonly string[] }>('stats/poll');`;
    expect(copiesIn('old.ts', old, objects).map((c) => c.copies)).toEqual(['SwitchStatus', 'PollReply']);
    // two fields, or fields no contract object has together, are the console's own (a table row, a column)
    expect(
      copiesIn(
        'own.ts',
        'interface Row { label: string; members: string[] } type C = { resource: string; label: string; zzz: 1 }',
        objects,
      ),
    ).toEqual([]);
  });

  it('no console source declares a copy of a contract object', () => {
    expect(sources.flatMap((s) => copiesIn(s.file, s.text, objects))).toEqual([]);
  });

  it('requests go through the typed clients; the contract is imported as types only', () => {
    const bad: string[] = [];
    for (const { file, text } of sources) {
      const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
      const visit = (n: ts.Node): void => {
        const line = () => `${file}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
        if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier) && n.moduleSpecifier.text.includes('/api/'))
          if (!n.importClause?.isTypeOnly) bad.push(`${line()}: import the contract with \`import type\``);
        if (ts.isCallExpression(n) && ts.isIdentifier(n.expression)) {
          if (n.expression.text === 'fetch' && !file.endsWith('web/src/api.ts')) bad.push(`${line()}: fetch outside api.ts`);
          if (['get', 'change', 'request'].includes(n.expression.text) && n.typeArguments?.length && !file.endsWith('web/src/api.ts'))
            bad.push(`${line()}: a reply type given by hand (${n.getText().slice(0, 60)})`);
        }
        ts.forEachChild(n, visit);
      };
      visit(sf);
    }
    expect(bad).toEqual([]);
  });

  it('a reply body gets its type in one place, contractBody() in api.ts: no other type assertion (the console once had some)', () => {
    const old = `const err = (parsed && typeof parsed === 'object' ? parsed : {}) as ApiError;
      e = { ...(JSON.parse(data) as object), type } as ControllerEvent;
      const b = (e.target as HTMLElement).closest('button'); const fams = [4, 6] as const;`;
    expect(assertionsIn('old.ts', old)).toHaveLength(3);
    expect(sources.flatMap((s) => assertionsIn(s.file, s.text))).toEqual(['controller/web/src/api.ts: body as T']);
    const api = sources.find((s) => s.file === 'controller/web/src/api.ts')!.text;
    expect(api).toMatch(/export function contractBody<T>\(body: unknown\): T \{\n\s*return body as T;\n\}/);
  });

  it('the console bundle holds no contract schemas, TypeBox or other server code', async () => {
    const r = await build({
      entryPoints: [join(SRC, 'console.ts')],
      bundle: true,
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(r.metafile.inputs);
    // besides the console's own sources: the event names and the snoopers' alert names (constants, no imports)
    const shared = ['controller/events.ts', 'controller/alert-names.ts'];
    expect(inputs.filter((i) => !i.startsWith('controller/web/src/') && !shared.includes(i))).toEqual([]);
    expect(inputs).toContain('controller/web/src/pages/overview.ts');
  });
});
