import * as net from 'node:net';

export type CutWhere = 'before-response' | 'in-headers' | 'in-body';

/**
 * A loopback TCP proxy that forwards every request to the server whole, and for a chosen fraction
 * of the answers cuts both connections: before the first byte of the answer, or after a prefix of
 * it (inside the status line and headers, or inside the body). The server has done the work; the
 * client never learns the outcome.
 */
export class DropProxy {
  readonly cuts: Record<CutWhere, number> = { 'before-response': 0, 'in-headers': 0, 'in-body': 0 };
  /** Cuts by request line (method and path without the query). */
  readonly cutRequests = new Map<string, number>();
  answers = 0;
  rate: number;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly targetPort: number,
    private readonly random: () => number,
    rate: number,
  ) {
    this.rate = rate;
    this.server = net.createServer((client) => this.connection(client));
  }

  static async start(targetPort: number, random: () => number, rate: number): Promise<{ proxy: DropProxy; url: string }> {
    const proxy = new DropProxy(targetPort, random, rate);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return { proxy, url: `http://127.0.0.1:${(proxy.server.address() as net.AddressInfo).port}` };
  }

  get totalCuts(): number {
    return Object.values(this.cuts).reduce((a, b) => a + b, 0);
  }

  private connection(client: net.Socket): void {
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    this.sockets.add(client).add(upstream);
    let request = '';
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (d: Buffer) => {
      // HTTP/1.1 without pipelining: a chunk opening with a method starts the next request.
      const m = /^(GET|POST|PUT|PATCH|DELETE) ([^ ?]+)/.exec(d.subarray(0, 300).toString('latin1'));
      if (m) request = `${m[1]} ${m[2]}`;
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (d.subarray(0, 7).toString('latin1') === 'HTTP/1.') {
        this.answers++;
        if (this.random() < this.rate) {
          const where: CutWhere[] = ['before-response', 'in-headers', 'in-body'];
          const headerEnd = d.indexOf('\r\n\r\n') + 4;
          const hasBody = headerEnd > 3 && d.length > headerEnd + 1;
          const pick = where[Math.floor(this.random() * (hasBody ? 3 : 2))];
          this.cuts[pick]++;
          this.cutRequests.set(request, (this.cutRequests.get(request) ?? 0) + 1);
          if (pick === 'before-response') return drop();
          const end =
            pick === 'in-headers'
              ? 1 + Math.floor(this.random() * (Math.max(2, headerEnd) - 1))
              : headerEnd + 1 + Math.floor(this.random() * (d.length - headerEnd - 1));
          client.write(d.subarray(0, end), drop);
          return;
        }
      }
      client.write(d);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.on('close', () => this.sockets.delete(client));
    upstream.on('close', () => this.sockets.delete(upstream));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
