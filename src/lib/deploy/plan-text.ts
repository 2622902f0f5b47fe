// A deploy plan as text for a terminal or a CI log: per service the version change and why, the image,
// the revision's changed fields and the calls a deploy would make. Returns lines; the command prints them.
import type { PlannedCall } from "../platform/platform.js";
import type { DeployPlan, ServicePlan } from "./plan.js";

const show = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

function callLine(call: PlannedCall): string {
  if (call.api === "ecs:RegisterTaskDefinition") {
    const tags = (call.input.tags as { key: string; value: string }[] | undefined)
      ?.map((t) => `${t.key}=${t.value}`)
      .join(", ");
    return `${call.api} family=${show(call.input.family)} (the live revision with the changes above${tags ? `; tags ${tags}` : ""})`;
  }
  return `${call.api} ${JSON.stringify(call.input)}`;
}

function serviceLines(s: ServicePlan): string[] {
  if (s.action === "failed") return [`${s.name}  cannot be planned: ${s.error}`];
  if (s.action === "unchanged") return [`${s.name}  unchanged (${s.to})`];
  const out = [`${s.name}  ${s.from ?? "nothing"} -> ${s.to}`];
  for (const w of s.why) out.push(`  why     ${w}`);
  if (s.image) {
    const at = `${s.image.repository}:${s.image.tag}`;
    out.push(
      s.image.present
        ? `  image   ${at} is in the registry (${s.image.digest}): nothing to build or push`
        : `  image   ${at} is not in the registry: build (unless the engine has it) and push${s.image.createRepository ? ", creating the repository" : ""}`,
    );
  }
  for (const c of s.changes) {
    const pending =
      typeof c.to === "string" && s.image && !s.image.present && c.to.endsWith(`:${s.image.tag}`)
        ? " (pinned to its digest after the push)"
        : "";
    out.push(`  change  ${c.path}: ${show(c.from)} -> ${show(c.to)}${pending}`);
  }
  for (const call of s.calls) out.push(`  call    ${callLine(call)}`);
  return out;
}

export function planLines(plan: DeployPlan): string[] {
  const s = plan.summary;
  const lines = [
    `Plan for target ${plan.target} (${plan.platform}) — a dry run: nothing was built, pushed or changed.`,
    "",
  ];
  for (const svc of plan.services) lines.push(...serviceLines(svc));
  lines.push(
    "",
    `${plan.services.length} services: ${s.deploy} to deploy, ${s.unchanged} unchanged${s.failed ? `, ${s.failed} cannot be planned` : ""}; ` +
      `${s.imagesToPush} image${s.imagesToPush === 1 ? "" : "s"} to push; ${s.calls} write call${s.calls === 1 ? "" : "s"} a deploy would make (none made).`,
  );
  return lines;
}
