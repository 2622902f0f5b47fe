// The deploy plan (`gs deploy --dry-run`, `gs diff`): which services would change and why, which images
// would be built and pushed, what each service's new revision changes, and the exact write calls a
// deploy would make — found with reads only (ecs: DescribeServices, DescribeTaskDefinition, DescribeImages).
import type {
  Artifact,
  ArtifactBuilder,
  ArtifactPlan,
  DeploymentPlan,
  FieldChange,
  Platform,
  PlannedCall,
} from "../platform/platform.js";

export interface ServicePlan {
  name: string;
  /** deploy: a new version would roll out; failed: it could not be planned (`error` says why) */
  action: "deploy" | "unchanged" | "failed";
  /** the version running now */
  from: string | null;
  /** the version a deploy would roll out */
  to: string | null;
  /** why the version differs: the hash inputs that changed, as far as the running revision records them */
  why: string[];
  /** ecs: the service's image in the registry; `present: false` means it would be built (unless the engine has it) and pushed */
  image?: { repository: string; tag: string; digest: string | null; present: boolean; createRepository: boolean };
  /** the fields the new revision changes (ecs: the service container's image and gs's tags) */
  changes: FieldChange[];
  /** the write calls a deploy would make for this service, in order */
  calls: PlannedCall[];
  error?: string;
}

export interface DeployPlan {
  target: string;
  platform: "local" | "ecs";
  /** always true: the plan was made without changing anything */
  dryRun: true;
  services: ServicePlan[];
  summary: { deploy: number; unchanged: number; failed: number; imagesToPush: number; calls: number };
}

export interface PlanOptions {
  platform: Platform;
  builder: ArtifactBuilder;
  /** default: every service of the platform */
  services?: string[];
}

export async function planDeploy(opts: PlanOptions): Promise<DeployPlan> {
  const names = opts.services?.length ? opts.services : (await opts.platform.describeServices()).map((s) => s.name);
  const built = await Promise.all(
    names.map(async (name): Promise<[string, ArtifactPlan | Error]> => {
      try {
        if (opts.builder.plan) return [name, await opts.builder.plan(name)];
        // platforms without a registry: the artifact is a local bundle, made (and cached) by gs itself
        return [name, { artifact: await opts.builder.build(name), present: true, calls: [] }];
      } catch (err) {
        return [name, err as Error];
      }
    }),
  );
  const errors = built.map(([, p]) => p).filter((p): p is Error => p instanceof Error);
  // one cause for every service (expired credentials, an unreachable registry): one error, not 22 lines
  if (errors.length === built.length && errors.length > 0 && errors.every((e) => e.message === errors[0]!.message))
    throw errors[0]!;
  const planned = built.filter((b): b is [string, ArtifactPlan] => !(b[1] instanceof Error));
  const items = planned.map(([service, p]) => ({ service, artifact: p.artifact }));
  const deployments = new Map((await platformPlans(opts.platform, items)).map((d) => [d.service, d]));

  const services = built.map(([name, p]): ServicePlan => {
    if (p instanceof Error)
      return { name, action: "failed", from: null, to: null, why: [], changes: [], calls: [], error: p.message };
    const d = deployments.get(name)!;
    const unchanged = d.current.version === p.artifact.version;
    const image = p.image ? { ...p.image, present: p.present } : undefined;
    return {
      name,
      action: unchanged ? "unchanged" : "deploy",
      from: d.current.version,
      to: p.artifact.version,
      why: unchanged ? [] : whyChanged(d.current, p.artifact),
      ...(image ? { image } : {}),
      changes: d.changes,
      // an unchanged service needs no image either: its tag is what runs
      calls: unchanged ? [] : [...p.calls, ...d.calls],
    };
  });
  const count = (a: ServicePlan["action"]) => services.filter((s) => s.action === a).length;
  return {
    target: opts.platform.target,
    platform: opts.platform.kind,
    dryRun: true,
    services,
    summary: {
      deploy: count("deploy"),
      unchanged: count("unchanged"),
      failed: count("failed"),
      imagesToPush: services.filter((s) => s.action === "deploy" && s.image && !s.image.present).length,
      calls: services.reduce((n, s) => n + s.calls.length, 0),
    },
  };
}

/** The platform's own plan, or — for a platform without one — the version change and its deploy request. */
async function platformPlans(
  platform: Platform,
  items: { service: string; artifact: Artifact }[],
): Promise<DeploymentPlan[]> {
  if (!items.length) return [];
  if (platform.planDeployments) return platform.planDeployments(items);
  const current = new Map((await platform.describeServices(items.map((i) => i.service))).map((s) => [s.name, s]));
  return items.map(({ service, artifact }) => {
    const s = current.get(service);
    const version = s?.version ?? null;
    const ref = s?.deployments.find((d) => d.status === "PRIMARY")?.artifact.ref ?? "";
    const same = version === artifact.version;
    return {
      service,
      current: { version, ref },
      changes: same ? [] : [{ path: "artifact", from: ref || null, to: artifact.ref }],
      calls: same
        ? []
        : [{ api: `${platform.kind}:deploy`, input: { service, version: artifact.version, ref: artifact.ref } }],
    };
  });
}

/** Which hash inputs differ between what runs and the new build, e.g. `bundle changed (1a2b3c4d -> 5e6f7a8b)`. */
function whyChanged(current: DeploymentPlan["current"], next: Artifact): string[] {
  if (current.version === null) return ["nothing runs yet"];
  if (!current.inputs) {
    return [
      `${current.version} runs now; its revision does not record its inputs (not deployed by gs), so every input counts as changed`,
    ];
  }
  if (!next.inputs) return [`${current.version} runs now; the new build is ${next.version}`];
  const keys = [...new Set([...Object.keys(current.inputs), ...Object.keys(next.inputs)])];
  const diff = keys
    .filter((k) => current.inputs![k] !== next.inputs![k])
    .map((k) => `${k} changed (${current.inputs![k] ?? "none"} -> ${next.inputs![k] ?? "none"})`);
  return diff.length
    ? diff
    : [`same inputs, different version (${current.version} -> ${next.version}): the fleet version changed`];
}
