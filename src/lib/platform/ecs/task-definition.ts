// Task-definition revisions gs registers: a clone of the live revision with one container's image
// replaced by the digest-pinned URI. Everything else (roles, env, secrets, health check, logging,
// sizes, volumes, sidecars, fields newer than this code) is carried over untouched; only the fields
// ECS fills in itself are dropped, because RegisterTaskDefinition does not take them.
import type { ContainerDefinition, RegisterTaskDefinitionCommandInput, Tag, TaskDefinition } from "@aws-sdk/client-ecs";

/** TaskDefinition fields ECS sets on registration; not inputs. */
export const READ_ONLY_FIELDS = [
  "taskDefinitionArn",
  "revision",
  "status",
  "requiresAttributes",
  "compatibilities",
  "registeredAt",
  "registeredBy",
  "deregisteredAt",
  "deleteRequestedAt",
] as const;

/** The resource tag that records which gs version a revision runs. */
export const VERSION_TAG = "gs:version";
/** how the revision's run ended (`deployed`, `failed`, `rolled_back`, `canary_aborted`): set by TagResource once known */
export const OUTCOME_TAG = "gs:outcome";
/** when a failed or rolled-back revision stopped serving (ISO time) */
export const ENDED_TAG = "gs:ended-at";
/** who or what registered the revision (user@host, or the CI run) */
export const DEPLOYED_BY_TAG = "gs:deployed-by";

export interface ServiceContainerHints {
  /** the fleet service name (`auth`) */
  service: string;
  /** the ECS service name (`auth-nats`) */
  ecsService: string;
  /** `host/repository` images of this service are pushed to */
  repository?: string;
}

const imageRepository = (image: string | undefined) =>
  (image ?? "").replace(/@sha256:[0-9a-f]+$/, "").replace(/:[\w.-]+$/, "");

/**
 * Which container runs the service: the one whose image comes from the service's repository, else
 * the one named after the service, else the only essential one, else the first.
 */
export function serviceContainerIndex(td: TaskDefinition, hints: ServiceContainerHints): number {
  const cs = td.containerDefinitions ?? [];
  if (cs.length === 0) return -1;
  const byRepo = hints.repository ? cs.findIndex((c) => imageRepository(c.image) === hints.repository) : -1;
  if (byRepo >= 0) return byRepo;
  const byName = cs.findIndex((c) => c.name === hints.service || c.name === hints.ecsService);
  if (byName >= 0) return byName;
  const essential = cs.map((c, i) => [c, i] as const).filter(([c]) => c.essential !== false);
  return essential.length === 1 ? essential[0]![1] : 0;
}

/** A RegisterTaskDefinition input equal to `live` except for the image of container `index` and the version tag. */
export function cloneTaskDefinition(
  live: TaskDefinition,
  index: number,
  image: string,
  liveTags: Tag[] = [],
  version?: string,
): RegisterTaskDefinitionCommandInput {
  const copy = structuredClone(live) as Record<string, unknown>;
  for (const f of READ_ONLY_FIELDS) delete copy[f];
  const containers = copy.containerDefinitions as ContainerDefinition[] | undefined;
  if (!containers?.[index])
    throw new Error(`task definition ${live.taskDefinitionArn ?? live.family} has no container #${index}`);
  containers[index] = { ...containers[index], image };
  const tags = liveTags.filter((t) => t.key !== VERSION_TAG);
  if (version) tags.push({ key: VERSION_TAG, value: version });
  const input = copy as unknown as RegisterTaskDefinitionCommandInput;
  if (tags.length) input.tags = tags;
  return input;
}

/** Where a container's logs go, when it uses the awslogs driver. */
export interface AwsLogsTarget {
  group: string;
  region?: string;
  /** streams are `<prefix>/<container>/<task id>` */
  streamPrefix?: string;
  container: string;
}

export function awsLogsOf(container: ContainerDefinition | undefined): AwsLogsTarget | undefined {
  const lc = container?.logConfiguration;
  if (!container?.name || lc?.logDriver !== "awslogs" || !lc.options?.["awslogs-group"]) return undefined;
  return {
    group: lc.options["awslogs-group"],
    region: lc.options["awslogs-region"],
    streamPrefix: lc.options["awslogs-stream-prefix"],
    container: container.name,
  };
}

/** The log stream of one task's container, or undefined without a stream prefix (ECS then names streams by task only on EC2). */
export function logStreamOf(logs: AwsLogsTarget, taskId: string): string | undefined {
  return logs.streamPrefix ? `${logs.streamPrefix}/${logs.container}/${taskId}` : undefined;
}

/** The resource tag that records what a revision's version was made from (`bundle=1a2b3c4d dockerfile=…`): a plan compares it to say why a service changed. */
export const INPUTS_TAG = "gs:inputs";

/** `{ bundle: "1a2b3c4d", … }` as one tag value (ECS tag values allow letters, digits, spaces and `=`). */
export function formatInputsTag(inputs: Record<string, string>): string {
  return Object.entries(inputs)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ")
    .slice(0, 256);
}

export function parseInputsTag(value: string | undefined): Record<string, string> | undefined {
  if (!value) return undefined;
  const pairs = value
    .split(" ")
    .map((p) => p.split("="))
    .filter((p): p is [string, string] => p.length === 2 && Boolean(p[0]));
  return pairs.length ? Object.fromEntries(pairs) : undefined;
}

/** A revision's tags as `{ key: value }`: what a diff compares (the order of the tag list means nothing). */
function tagMap(tags: Tag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.key ?? "", t.value ?? ""]));
}

/**
 * Every leaf that differs between the live revision (as RegisterTaskDefinition would take it) and the
 * input gs would register, as `containerDefinitions[0].image` / `tags.gs:version` paths.
 */
export function diffTaskDefinition(
  live: TaskDefinition,
  liveTags: Tag[],
  next: RegisterTaskDefinitionCommandInput,
): { path: string; from: unknown; to: unknown }[] {
  const before = structuredClone(live) as Record<string, unknown>;
  for (const f of READ_ONLY_FIELDS) delete before[f];
  before.tags = tagMap(liveTags);
  const after = { ...(structuredClone(next) as unknown as Record<string, unknown>), tags: tagMap(next.tags) };
  const out: { path: string; from: unknown; to: unknown }[] = [];
  const walk = (a: unknown, b: unknown, at: string) => {
    if (a === b) return;
    const bothArrays = Array.isArray(a) && Array.isArray(b);
    const bothObjects =
      !bothArrays &&
      a !== null &&
      b !== null &&
      typeof a === "object" &&
      typeof b === "object" &&
      !Array.isArray(a) &&
      !Array.isArray(b);
    if (bothArrays) {
      for (let i = 0; i < Math.max(a.length, b.length); i++) walk(a[i], b[i], `${at}[${i}]`);
    } else if (bothObjects) {
      const ao = a as Record<string, unknown>;
      const bo = b as Record<string, unknown>;
      for (const k of new Set([...Object.keys(ao), ...Object.keys(bo)])) walk(ao[k], bo[k], at ? `${at}.${k}` : k);
    } else if (JSON.stringify(a) !== JSON.stringify(b)) {
      out.push({ path: at, from: a ?? null, to: b ?? null });
    }
  };
  walk(before, after, "");
  return out;
}
