import { LoginRateLimiter } from './login-rate-limiter';

describe('LoginRateLimiter', () => {
  let now = 1_000_000;
  const limiter = () => new LoginRateLimiter(3, 60_000, () => now);

  it('allows attempts until the limit, then asks to wait until the oldest failure expires', () => {
    const l = limiter();
    for (let i = 0; i < 3; i++) {
      expect(l.retryAfterSeconds('bob', '1.1.1.1')).toBe(0);
      l.recordFailure('bob', '1.1.1.1');
      now += 1000;
    }
    expect(l.retryAfterSeconds('bob', '1.1.1.1')).toBe(57);
    expect(l.retryAfterSeconds('BOB', '1.1.1.1')).toBe(57);
    expect(l.retryAfterSeconds('bob', '2.2.2.2')).toBe(0);
    now += 57_000;
    expect(l.retryAfterSeconds('bob', '1.1.1.1')).toBe(0);
  });

  it('forgets a user-and-address key after a success', () => {
    const l = limiter();
    l.recordFailure('amy', 'a');
    l.recordFailure('amy', 'a');
    l.recordSuccess('amy', 'a');
    l.recordFailure('amy', 'a');
    l.recordFailure('amy', 'a');
    expect(l.retryAfterSeconds('amy', 'a')).toBe(0);
  });

  it('takes back only the attempt just counted when the password could not be checked', () => {
    const l = limiter();
    l.recordFailure('dee', 'd');
    l.recordFailure('dee', 'd');
    l.recordFailure('dee', 'd'); // the directory was down for this one
    l.takeBack('dee', 'd');
    expect(l.retryAfterSeconds('dee', 'd')).toBe(0);
    l.recordFailure('dee', 'd');
    expect(l.retryAfterSeconds('dee', 'd')).toBeGreaterThan(0);
  });

  it('limits one address trying many usernames', () => {
    const l = limiter();
    for (let i = 0; i < 12; i++) l.recordFailure(`user${i}`, 'x');
    expect(l.retryAfterSeconds('someone-new', 'x')).toBeGreaterThan(0);
  });
});
