/** Which command lines bin/run.js answers without oclif (cli/fast-args.ts); everything else must reach oclif. */
import { expect, it } from 'vitest';
import { fastCommand } from '../../cli/fast-args.js';

it('takes exactly `validate FILE` and `lint FILE` with or without --json', () => {
  expect(fastCommand(['lint', 'p.yaml'], {})).toEqual({ command: 'lint', policy: 'p.yaml', json: false });
  expect(fastCommand(['lint', '--json', 'p.yaml'], {})).toEqual({ command: 'lint', policy: 'p.yaml', json: true });
  expect(fastCommand(['validate', 'p.yaml'], {})).toEqual({ command: 'validate', policy: 'p.yaml', json: false });
  expect(fastCommand(['validate', 'p.yaml', '--json'], {})).toEqual({ command: 'validate', policy: 'p.yaml', json: true });
  expect(fastCommand(['validate', '--json', 'p.yaml'], {})).toEqual({ command: 'validate', policy: 'p.yaml', json: true });
});

it('leaves help, other flags, missing or extra arguments and other commands to oclif', () => {
  for (const argv of [
    ['validate'],
    ['validate', '--help'],
    ['validate', '-h'],
    ['validate', 'p.yaml', '--help'],
    ['validate', 'p.yaml', 'q.yaml'],
    ['validate', 'p.yaml', '--json', '--json'],
    ['validate', '--jsonx', 'p.yaml'],
    ['validate', '-'],
    ['validate', ''],
    ['validate', 'p.yaml', '--'],
    ['lint', 'p.yaml', '--fail-on', 'warning'],
    ['lint', 'p.yaml', '--quiet'],
    ['lint', '--help'],
    ['compile', 'p.yaml'],
    [],
  ])
    expect(fastCommand(argv, {}), argv.join(' ')).toBeUndefined();
});

it("leaves oclif's environment switches to oclif, and ACL_NO_FAST_PATH turns the fast path off", () => {
  for (const env of [{ ACL_NO_FAST_PATH: '1' }, { ACL_CONTENT_TYPE: 'json' }, { DEBUG: '*' }, { ACL_DEBUG: '1' }])
    expect(fastCommand(['validate', 'p.yaml'], env), JSON.stringify(env)).toBeUndefined();
});
