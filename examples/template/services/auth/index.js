// Auth service: issues and checks session tokens.
export function login(user, password) {
  if (!user || !password) throw new Error('missing credentials');
  return { token: `${user}:${Date.now()}` };
}

export function check(token) {
  return typeof token === 'string' && token.includes(':');
}
