// What one nats-server says about itself: its VARZ (identity, connections, CPU, memory, slow
// consumers) and its JSZ (the JetStream meta group, and every stream and consumer it holds, as it
// sees them). The system account's $SYS.REQ.SERVER.PING.VARZ / .JSZ and the monitoring endpoint's
// /varz and /jsz return the same documents (nats-server 2.9+); only the fields gs reads are typed.

/** A raft peer as a group's leader sees it; `active` is nanoseconds since it was last heard. */
export interface RawPeer {
  name: string;
  current: boolean;
  offline?: boolean;
  active: number;
  lag?: number;
}

/** A replicated group (the meta group, a stream, a consumer): its leader and, in the leader's view, its peers. */
export interface RawClusterInfo {
  name?: string;
  leader?: string;
  replicas?: RawPeer[];
}

export interface RawConsumer {
  name: string;
  stream_name?: string;
  num_pending: number;
  num_ack_pending: number;
  num_redelivered: number;
  num_waiting?: number;
  cluster?: RawClusterInfo;
}

export interface RawStream {
  name: string;
  cluster?: RawClusterInfo;
  config?: { num_replicas?: number };
  state: { messages: number; bytes: number; consumer_count?: number };
  consumer_detail?: RawConsumer[];
}

export interface RawAccount {
  name: string;
  stream_detail?: RawStream[];
}

export interface Jsz {
  server_id?: string;
  disabled?: boolean;
  /** only in a clustered JetStream; `replicas` only in the meta leader's own report */
  meta_cluster?: RawClusterInfo & { cluster_size?: number };
  account_details?: RawAccount[];
}

export interface Varz {
  server_id: string;
  server_name: string;
  version: string;
  connections: number;
  /** percent of one core */
  cpu: number;
  /** resident memory, bytes */
  mem: number;
  slow_consumers: number;
  uptime: string;
  system_account?: string;
}

/** One server's reports, from whichever source. */
export interface ServerReport {
  name: string;
  id: string;
  version: string;
  connections: number;
  cpu: number;
  memBytes: number;
  slowConsumers: number;
  uptime: string;
  systemAccount?: string;
  /** undefined when JetStream is off or its report did not come */
  jsz?: Jsz;
}

export function serverReport(varz: Varz, jsz: Jsz | undefined): ServerReport {
  return {
    name: varz.server_name,
    id: varz.server_id,
    version: varz.version,
    connections: varz.connections,
    cpu: varz.cpu,
    memBytes: varz.mem,
    slowConsumers: varz.slow_consumers,
    uptime: varz.uptime,
    ...(varz.system_account ? { systemAccount: varz.system_account } : {}),
    ...(jsz && !jsz.disabled ? { jsz } : {}),
  };
}

/** A VARZ document as gs needs it (a server's answer to a request it did not understand is not one). */
export function isVarz(v: unknown): v is Varz {
  const x = v as Partial<Varz> | null;
  return !!x && typeof x === "object" && typeof x.server_id === "string" && typeof x.server_name === "string";
}

/** The JSZ query both sources take: every account, its streams and their consumers, with each stream's config. */
export const JSZ_OPTIONS = { accounts: true, streams: true, consumer: true, config: true } as const;
/** The same for the monitoring endpoint, whose query parameter for consumers is plural. */
export const JSZ_QUERY = "accounts=true&streams=true&consumers=true&config=true";
