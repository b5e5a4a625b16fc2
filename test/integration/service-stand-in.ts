// Test fixture standing in for the webhook Service (es-mtls-controller-webhook): a plain TCP
// forwarder on 127.0.0.1 that spreads connections over the controller replicas round-robin, as
// kube-proxy spreads over a Service's endpoints, and skips a backend that refuses the connection,
// as a Service does once the dead pod left its endpoints. TLS passes through untouched: the
// kube-apiserver verifies the controller's own serving certificate (IP SAN 127.0.0.1).
import { connect, createServer, type Server, type Socket } from "node:net";

export class ServiceStandIn {
  /** Connections handed to each backend port. */
  readonly connections = new Map<number, number>();
  /** Connections that had to skip a backend which refused them. */
  skipped = 0;
  private next = 0;
  private readonly open = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly backends: number[],
  ) {}

  static async start(backends: number[]): Promise<ServiceStandIn> {
    let self: ServiceStandIn | undefined;
    const server = createServer((client) => self!.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const address = server.address();
    if (!address || typeof address === "string") throw new Error("no TCP address");
    self = new ServiceStandIn(server, address.port, backends);
    return self;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  private accept(client: Socket) {
    this.open.add(client);
    client.on("close", () => this.open.delete(client));
    client.on("error", () => client.destroy());
    client.pause();
    const first = this.next++ % this.backends.length;
    const attempt = (i: number) => {
      if (i === this.backends.length) return void client.destroy(); // no endpoint answers
      const port = this.backends[(first + i) % this.backends.length]!;
      const upstream = connect(port, "127.0.0.1");
      upstream.once("error", () => {
        upstream.destroy();
        this.skipped++;
        attempt(i + 1);
      });
      upstream.once("connect", () => {
        this.connections.set(port, (this.connections.get(port) ?? 0) + 1);
        this.open.add(upstream);
        upstream.removeAllListeners("error");
        upstream.on("error", () => client.destroy());
        upstream.on("close", () => {
          this.open.delete(upstream);
          client.destroy();
        });
        client.on("close", () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    attempt(0);
  }

  async stop(): Promise<void> {
    for (const s of this.open) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
