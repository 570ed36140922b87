/**
 * Counts failed logins per (username, address) and per address in a sliding window. Once a key
 * is over its limit, attempts are refused without checking the password until the oldest
 * failure leaves the window.
 */
export class LoginRateLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  private keys(username: string, ip: string): [string, number][] {
    return [
      [`u:${username.toLowerCase()}|${ip}`, this.maxFailures],
      [`ip:${ip}`, this.maxFailures * 4],
    ];
  }

  /** Seconds until another attempt is allowed, or 0 when one is allowed now. */
  retryAfterSeconds(username: string, ip: string): number {
    let wait = 0;
    for (const [key, limit] of this.keys(username, ip)) {
      const recent = this.recent(key);
      if (recent.length >= limit) {
        wait = Math.max(wait, Math.ceil((recent[recent.length - limit] + this.windowMs - this.now()) / 1000));
      }
    }
    return Math.max(0, wait);
  }

  recordFailure(username: string, ip: string): void {
    for (const [key] of this.keys(username, ip)) this.failures.set(key, [...this.recent(key), this.now()]);
  }

  recordSuccess(username: string, ip: string): void {
    this.failures.delete(this.keys(username, ip)[0][0]);
  }

  private recent(key: string): number[] {
    const cutoff = this.now() - this.windowMs;
    const list = (this.failures.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) this.failures.delete(key);
    else this.failures.set(key, list);
    return list;
  }
}
