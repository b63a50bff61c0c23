import { describe, expect, it } from 'vitest';
import { groupOf } from './groups.js';

describe('groupOf', () => {
  it.each([
    ['POST', '/api/v1/execute', 'execute'],
    ['POST', '/api/v1/executions/abc-123/retry', 'execute'],
    ['POST', '/api/v1/scripts/abc-123/execute', 'execute'],
    ['GET', '/api/v1/scripts/abc-123/execute', 'default'],
    ['POST', '/api/v1/scripts/abc-123/execute/x', 'default'],
    ['POST', '/api/v1/scripts', 'default'],
    ['POST', '/API/V1/Execute/', 'execute'],
    ['GET', '/api/v1/execute', 'default'],
    ['GET', '/api/v1/executions/abc/result', 'default'],
    ['POST', '/api/v1/executions/abc/cancel', 'default'],
    ['POST', '/api/v1/auth/login', 'auth'],
    ['GET', '/api/v1/auth/me', 'auth'],
    ['GET', '/api/v1/admin/rate-limits/u1', 'admin'],
    ['PUT', '/api/v1/Admin/users/u1/', 'admin'],
    ['GET', '/api/v1/events/executions/e1', 'sse'],
    ['GET', '/api/v1/scripts', 'default'],
    ['GET', '/api/v1', 'default'],
    ['GET', '/api/v1/authors', 'default'],
    ['GET', '/api/v1/administrators', 'default'],
    ['GET', '/metrics', 'default'],
    ['POST', '/api/v2/execute', 'default'],
    ['GET', '/api/v10', 'default'],
    ['GET', '/', 'default'],
  ] as const)('when %s %s, then the group is %s', (method, path, group) => {
    expect(groupOf(method, path)).toBe(group);
  });

  it.each([
    ['GET', '/api/v1/health/live'],
    ['GET', '/api/v1/health/ready'],
    ['GET', '/api/v1/health'],
    ['GET', '/API/V1/Health/Live/'],
  ])('when %s %s, then it is not limited', (method, path) => {
    expect(groupOf(method, path)).toBeUndefined();
  });
});
