/** Device names of the login storm, shared by bench/login.bench.ts and its peer thread (bench/login-peer.ts). */
const hex = (n: number) => n.toString(16).padStart(2, '0');
export const macOf = (i: number) => `02:00:0a:${hex((i >> 16) & 255)}:${hex((i >> 8) & 255)}:${hex(i & 255)}`;
