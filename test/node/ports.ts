// Pod addresses. Linux routes all of 127.0.0.0/8 to the loopback interface, so
// each pod gets its own loopback IP and its containers listen on their declared
// containerPorts there, unchanged: ES on podIP:9200, the agent on podIP:8099, as
// in a cluster. Probes and test clients use `status.podIP` and the spec's ports;
// no port mapping is needed. A node takes a random 127.X.Y.0/24 block (several test
// processes share the machine) and checks each address's ports are free before
// handing it out; addresses are used round-robin so a fresh pod never gets the
// address a just-deleted pod used.
//
// Inside a network namespace of its own (test/netns/), a node can give pods addresses of a
// private range instead (`PodNetwork`): EndpointSlices refuse loopback addresses, so a Service
// can only reach pods whose IPs are not 127.x. Each address is added to that namespace's `lo`.
import type * as k8s from "@kubernetes/client-node";
import { createServer } from "node:net";

/** Where pod addresses come from when not from 127.0.0.0/8: a /24 prefix, and how an address is put on / taken off the host. */
export interface PodNetwork {
  prefix: string;
  attach(ip: string): void;
  detach(ip: string): void;
}

export class PodAddresses {
  readonly prefix: string;
  private next = 2;
  private readonly used = new Set<string>();

  constructor(private readonly network?: PodNetwork) {
    const octet = () => 1 + Math.floor(Math.random() * 254);
    this.prefix = network?.prefix ?? `127.${octet()}.${octet()}`;
  }

  /** An address on which every given TCP port can be bound right now. */
  async allocate(ports: number[]): Promise<string> {
    for (let tries = 0; tries < 253; tries++) {
      const ip = `${this.prefix}.${this.next}`;
      this.next = this.next >= 254 ? 2 : this.next + 1;
      if (this.used.has(ip)) continue;
      this.network?.attach(ip);
      if ((await Promise.all(ports.map((p) => canBind(ip, p)))).every(Boolean)) {
        this.used.add(ip);
        return ip;
      }
      this.network?.detach(ip);
    }
    throw new Error(`no address in ${this.prefix}.0/24 has ports ${ports.join(",")} free`);
  }

  release(ip: string): void {
    this.used.delete(ip);
    this.network?.detach(ip);
  }
}

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Every TCP containerPort the pod declares (regular, init and sidecar containers). */
export function declaredPorts(pod: k8s.V1Pod): number[] {
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  return [...new Set(all.flatMap((c) => (c.ports ?? []).filter((p) => (p.protocol ?? "TCP") === "TCP").map((p) => p.containerPort)))];
}

/** A probe's port: a number, a numeric string, or the name of one of the container's ports. */
export function resolvePort(port: number | string, container: k8s.V1Container): number {
  if (typeof port === "number") return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = container.ports?.find((p) => p.name === port);
  if (!named) throw new Error(`container ${container.name} has no port named ${port}`);
  return named.containerPort;
}
