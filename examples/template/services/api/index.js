// API service: routes requests to the other services.
export function route(path) {
  if (path.startsWith('/auth')) return 'auth';
  if (path.startsWith('/pay')) return 'payment';
  return 'not-found';
}
