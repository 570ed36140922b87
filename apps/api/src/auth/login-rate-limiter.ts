/**
 * Counts failed logins per (username, address) and per address in a sliding window. Once a key
 * is over its limit, attempts are refused without checking the password until the oldest
 * failure leaves the window.
 */
export class LoginRateLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly refusalsLogged = new Map<string, number>();
  private operations = 0;

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

  /** Counts an attempt; call it before checking the password and undo it with recordSuccess. */
  recordFailure(username: string, ip: string): void {
    for (const [key] of this.keys(username, ip)) this.failures.set(key, [...this.recent(key), this.now()]);
    if (++this.operations % 1000 === 0) this.prune();
  }

  /** A success forgets the user-and-address failures and takes back the attempt it counted. */
  recordSuccess(username: string, ip: string): void {
    const [[userKey], [ipKey]] = this.keys(username, ip);
    this.failures.delete(userKey);
    const list = this.failures.get(ipKey);
    if (list && list.length > 0) list.pop();
  }

  /** Takes back the attempt just counted, and nothing else: the password could not be checked (the directory is down). */
  takeBack(username: string, ip: string): void {
    for (const [key] of this.keys(username, ip)) this.failures.get(key)?.pop();
  }

  /** True once per window for a refused key: the audit log records a lock-out, not every knock. */
  firstRefusal(username: string, ip: string): boolean {
    const key = this.keys(username, ip)[0][0];
    const last = this.refusalsLogged.get(key);
    if (last !== undefined && this.now() - last < this.windowMs) return false;
    this.refusalsLogged.set(key, this.now());
    return true;
  }

  /** Drops keys whose failures have all left the window. */
  private prune(): void {
    for (const key of [...this.failures.keys()]) this.recent(key);
    const cutoff = this.now() - this.windowMs;
    for (const [key, at] of this.refusalsLogged) if (at < cutoff) this.refusalsLogged.delete(key);
  }

  private recent(key: string): number[] {
    const cutoff = this.now() - this.windowMs;
    const list = (this.failures.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) this.failures.delete(key);
    else this.failures.set(key, list);
    return list;
  }
}
