import { compile, recompile } from '../compiler/index.js';
import { enterprise, pick } from './enterprise.js';
import type { Directory } from '../compiler/model.js';
const e = enterprise();
let prev = compile(e);
const times: number[] = [];
for (let i = 0; i < 40; i++) {
  const who = `u${(i * 997) % 10000}`;
  const dir: Directory = { ...e.directory, users: e.directory.users.map((u) => (u.id === who ? { ...u, roles: [pick(e.roles)] } : u)) };
  const t = performance.now();
  prev = recompile(prev, { directory: dir });
  times.push(performance.now() - t);
}
console.log(times.map((x) => x.toFixed(1)).join(' '));
const s = times.slice(5).sort((a, b) => a - b);
console.log('median', s[s.length >> 1].toFixed(1), 'min', s[0].toFixed(1));
