// One loopback TCP port for every instance of an HTTP service (the gateway), as node's cluster module
// shares a port between workers (its SCHED_NONE mode): the supervisor binds the socket but never
// listens or accepts on it; each instance receives it over IPC and listens, and the kernel hands each
// new connection to one of them. An instance that exits closes only its own copy, so the address
// stays the same through restarts and rollouts (SO_REUSEPORT would do it too, but Node 20 has no option for it).
import net from "node:net";

export interface SharedSocket {
  port: number;
  /** the bound socket handle, for `child.send(message, handle)` */
  handle: object;
  close(): void;
}

interface TcpHandle {
  getsockname(out: { port?: number }): number;
  close(): void;
}

type CreateServerHandle = (
  address: string,
  port: number,
  addressType: number,
  fd: number | undefined,
  flags: number,
) => TcpHandle | number;

/** Bind 127.0.0.1:port (0: a free one); throws with the errno name when the port cannot be bound. */
export function bindSharedSocket(port: number): SharedSocket {
  // what the cluster module's primary uses to bind without listening (node's own, underscored)
  const create = (net as unknown as { _createServerHandle?: CreateServerHandle })._createServerHandle;
  if (!create) throw new Error("this Node.js cannot share a listening socket (net._createServerHandle is missing)");
  const handle = create("127.0.0.1", port, 4, undefined, 0);
  if (typeof handle === "number") {
    const err = new Error(`cannot bind 127.0.0.1:${port}`) as NodeJS.ErrnoException;
    err.code = handle === -98 ? "EADDRINUSE" : handle === -13 ? "EACCES" : `errno ${handle}`;
    throw err;
  }
  const out: { port?: number } = {};
  handle.getsockname(out);
  return { port: out.port ?? port, handle, close: () => handle.close() };
}
