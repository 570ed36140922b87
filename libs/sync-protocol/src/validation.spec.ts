import { AuditQuery, CreateUserRequest, LoginRequest, UpdateUserRequest } from './accounts';
import { describeIssues } from './validation';

function sentence(schema: { safeParse(v: unknown): { success: boolean; error?: unknown } }, value: unknown): string {
  const result = schema.safeParse(value);
  if (result.success) throw new Error('expected the value to be refused');
  return describeIssues('request body', result.error as never);
}

describe('describeIssues', () => {
  test.each([
    [LoginRequest, {}, 'Invalid request body: username is required; password is required.'],
    [LoginRequest, { username: 'a', password: 'b', admin: true }, 'Invalid request body: unknown field "admin".'],
    [LoginRequest, { username: 5, password: 'x' }, 'Invalid request body: username must be a string (got number).'],
    [LoginRequest, [], 'Invalid request body: the value must be a JSON object (got array).'],
    [CreateUserRequest, { username: 'bob', role: 'root' }, 'Invalid request body: role must be one of "admin", "manager", "user".'],
    [
      CreateUserRequest,
      { username: '../x', role: 'user' },
      'Invalid request body: username may contain only letters, digits and . _ @ -, starting with a letter or digit.',
    ],
    [UpdateUserRequest, {}, 'Invalid request body: name at least one of role, disabled or password.'],
    [AuditQuery, { before: '-1' }, 'Invalid request body: before must be at least 1.'],
    [AuditQuery, { limit: '5000' }, 'Invalid request body: limit must be at most 1000.'],
  ])('%#: explains what is wrong in one sentence', (schema, value, expected) => {
    expect(sentence(schema, value)).toBe(expected);
  });
});
