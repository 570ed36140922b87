import type { z } from 'zod';

/**
 * One sentence for a person from a zod error: which fields are wrong and why.
 * `Invalid request body: password is required; unknown field "admin".`
 */
export function describeIssues(where: string, error: z.ZodError): string {
  const parts = error.issues.slice(0, 5).map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join('.') : '';
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => `"${k}"`).join(', ');
      return `${issue.keys.length > 1 ? 'unknown fields' : 'unknown field'} ${keys}${field ? ` in ${field}` : ''}`;
    }
    if (issue.code === 'invalid_type') {
      const received = /received (\w+)/.exec(issue.message)?.[1];
      if (received === 'undefined') return field ? `${field} is required` : 'a JSON object is required';
      return `${field || 'the value'} must be ${issue.expected === 'object' && !field ? 'a JSON object' : `a ${issue.expected}`}${received ? ` (got ${received})` : ''}`;
    }
    if (issue.code === 'invalid_value' && issue.values.length > 1) {
      return `${field || 'the value'} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    if ((issue.code === 'too_small' || issue.code === 'too_big') && /^Too (small|big)/.test(issue.message)) {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const unit = issue.origin === 'string' ? ' characters' : issue.origin === 'array' ? ' items' : '';
      return `${field || 'the value'} must be ${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)}${unit}`;
    }
    const msg = issue.message.replace(/^Invalid (input|option): /, '');
    return field ? `${field} ${msg}` : msg;
  });
  const more = error.issues.length > 5 ? `; and ${error.issues.length - 5} more` : '';
  return `Invalid ${where}: ${parts.join('; ')}${more}.`;
}
