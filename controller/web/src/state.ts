/** What the console knows about who is using it (shared by every page). */
export const state = {
  token: sessionStorage.getItem('acl-token') ?? '',
  /** The token is an admin token (GET /status says so). */
  canMutate: false,
};

export function setToken(t: string): void {
  state.token = t;
  if (t) sessionStorage.setItem('acl-token', t);
  else sessionStorage.removeItem('acl-token');
}
