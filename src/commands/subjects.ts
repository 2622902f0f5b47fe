import { Flags } from "@oclif/core";
import { BaseCommand } from "../base-command.js";
import { natsFlags, schemaFlags } from "../flags.js";
import { checkServiceNames } from "../lib/config/service-names.js";
import { renderTable } from "../lib/output/format.js";
import { examplesOfComment, readExamples, type ExampleRequest } from "../lib/contracts/examples.js";
import { exampleJson } from "../lib/proto/example.js";
import { protoDirs } from "../lib/proto/load.js";
import { schemaForFleet, schemaOptionsOf } from "../lib/proto/schema-source.js";
import { lazyNats } from "../nats-session.js";

export interface SubjectEntry {
  subject: string;
  service: string;
  rpc: string;
  request: string;
  response: string;
  /** the first curated example from proto/ (docs/contracts.md), else one derived from the request type */
  example: Record<string, unknown>;
  /** every curated example of the rpc, in run order (empty when proto/ has none for it) */
  examples: ExampleRequest[];
}
export interface EventEntry {
  subject: string;
  service: string;
  message: string;
  example: Record<string, unknown>;
}
export type SubjectsJson = SubjectEntry[] | EventEntry[];

export default class Subjects extends BaseCommand {
  static override summary =
    "List every rpc subject in proto/ with its request and response types and an example request.";
  static override description =
    "Subjects are derived from the proto service definitions: rpc StartQuest of quest_system.v1.QuestSystemService answers on quest-system.start-quest.\n\nExamples are the curated ones kept beside each rpc in proto/ (docs/contracts.md); they work against a fresh fleet when run in their documented order. A value like {{auth.login:session.sessionToken}} stands for that field of the named rpc's reply. An rpc without a curated example gets one derived from its request type.";
  static override examples = [
    `<%= config.bin %> subjects`,
    `<%= config.bin %> subjects --service payment --examples`,
    `<%= config.bin %> subjects --events`,
    `<%= config.bin %> subjects --json`,
  ];
  static override flags = {
    ...natsFlags,
    ...schemaFlags,
    service: Flags.string({ description: "Only this service's subjects." }),
    examples: Flags.boolean({
      char: "x",
      description: "Print the example requests of each subject, as `gs request` lines.",
    }),
    events: Flags.boolean({ description: "List event subjects and their message types instead." }),
  };

  async run(): Promise<SubjectsJson> {
    const { flags } = await this.parse(Subjects);
    // without a proto/ folder, the subjects the running fleet serves (--schema)
    const nats = lazyNats(flags);
    const { registry, source } = await schemaForFleet(schemaOptionsOf(flags), nats.connect).finally(() => nats.close());
    if (flags.service) {
      const known = [...new Set([...registry.rpcs, ...registry.events].map((s) => s.service))].sort();
      checkServiceNames([flags.service], known, "`gs subjects` lists every subject with its service");
    }
    if (flags.events) {
      const events = registry.events
        .filter((e) => !flags.service || e.service === flags.service)
        .sort((a, b) => a.subject.localeCompare(b.subject));
      this.out(
        renderTable(
          ["SUBJECT", "SERVICE", "MESSAGE"],
          events.map((e) => [e.subject, e.service, e.type.fullName.slice(1)]),
        ),
      );
      return events.map((e) => ({
        subject: e.subject,
        service: e.service,
        message: e.type.fullName.slice(1),
        example: exampleJson(e.type),
      }));
    }
    // from the fleet, the examples come from the comments its descriptor sets carry
    const curated = new Map(
      (source === "local"
        ? readExamples(protoDirs({ cwd: process.cwd(), extra: flags.proto }))
        : registry.rpcs.map((r) => {
            const rpc = `${r.protoService}.${r.method}`;
            const comment = registry.root.lookupService(r.protoService).methods[r.method]?.comment ?? "";
            return examplesOfComment(comment, { subject: r.subject, service: r.service, rpc, source: rpc });
          })
      ).map((e) => [e.subject, e]),
    );
    const entries: SubjectEntry[] = registry.rpcs
      .filter((r) => !flags.service || r.service === flags.service)
      .sort((a, b) => a.subject.localeCompare(b.subject))
      .map((r) => ({
        subject: r.subject,
        service: r.service,
        rpc: `${r.protoService}.${r.method}`,
        request: r.request.fullName.slice(1),
        response: r.response.fullName.slice(1),
        example: curated.get(r.subject)?.examples[0]?.request ?? exampleJson(r.request),
        examples: curated.get(r.subject)?.examples ?? [],
      }));
    if (flags.examples) {
      for (const e of entries) this.out(exampleLines(e));
    } else {
      this.out(
        renderTable(
          ["SUBJECT", "REQUEST", "RESPONSE"],
          entries.map((e) => [e.subject, e.request, e.response]),
        ),
      );
    }
    return entries;
  }
}

/** `gs subjects --examples`: the rpc, then one `gs request` line per example (and the error it documents). */
function exampleLines(e: SubjectEntry): string {
  const requests: { request: unknown; error?: ExampleRequest["error"] }[] = e.examples.length
    ? e.examples
    : [{ request: e.example }];
  const lines = requests.map(
    (x) =>
      `  gs request ${e.subject} '${JSON.stringify(x.request)}'` +
      (x.error ? `  # answered with error ${x.error.code}${x.error.text ? ` ${x.error.text}` : ""}` : ""),
  );
  return [`${e.subject}  ${e.request} -> ${e.response}`, ...lines].join("\n");
}
