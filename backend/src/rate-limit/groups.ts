/** The rule groups requests are limited by; each has its own budget and counter. */
export const RATE_LIMIT_GROUPS = ['execute', 'auth', 'admin', 'sse', 'default'] as const;
export type RateLimitGroup = (typeof RATE_LIMIT_GROUPS)[number];

const API_PREFIX = '/api/v1';
// Routes that start an execution besides POST /execute: a retry and a saved script's run.
const STARTS_EXECUTION = /^\/(executions\/[^/]+\/retry|scripts\/[^/]+\/execute)$/;

/**
 * The group of a request, or undefined when it is not limited (only the health endpoints). Paths
 * outside /api/v1 serve nothing but a 404, and are `default` too, so probing them costs budget.
 * Express matches routes case-insensitively and ignores a trailing slash, so the path is
 * normalised the same way: otherwise `POST /API/V1/Execute/` would escape its group.
 */
export function groupOf(method: string, path: string): RateLimitGroup | undefined {
  const normalised = path.toLowerCase().replace(/\/+$/, '');
  if (normalised !== API_PREFIX && !normalised.startsWith(`${API_PREFIX}/`)) return 'default';
  const rest = normalised.slice(API_PREFIX.length);
  const under = (segment: string): boolean => rest === segment || rest.startsWith(`${segment}/`);
  if (under('/health')) return undefined;
  if (method.toUpperCase() === 'POST' && (rest === '/execute' || STARTS_EXECUTION.test(rest)))
    return 'execute';
  if (under('/auth')) return 'auth';
  if (under('/admin')) return 'admin';
  if (under('/events')) return 'sse';
  return 'default';
}
