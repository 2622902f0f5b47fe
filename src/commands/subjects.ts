import { Flags } from "@oclif/core";
import { BaseCommand } from "../base-command.js";
import { protoFlags } from "../flags.js";
import { checkServiceNames } from "../lib/config/service-names.js";
import { renderTable } from "../lib/output/format.js";
import { exampleJson } from "../lib/proto/example.js";
import { loadRegistry } from "../lib/proto/load.js";

export interface SubjectEntry {
  subject: string;
  service: string;
  rpc: string;
  request: string;
  response: string;
  example: Record<string, unknown>;
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
    "Subjects are derived from the proto service definitions: rpc StartQuest of quest_system.v1.QuestSystemService answers on quest-system.start-quest.";
  static override examples = [
    `<%= config.bin %> subjects`,
    `<%= config.bin %> subjects --service payment --examples`,
    `<%= config.bin %> subjects --events`,
    `<%= config.bin %> subjects --json`,
  ];
  static override flags = {
    ...protoFlags,
    service: Flags.string({ description: "Only this service's subjects." }),
    examples: Flags.boolean({ char: "x", description: "Print an example request for each subject." }),
    events: Flags.boolean({ description: "List event subjects and their message types instead." }),
  };

  async run(): Promise<SubjectsJson> {
    const { flags } = await this.parse(Subjects);
    const registry = loadRegistry({ cwd: process.cwd(), extra: flags.proto });
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
    const entries: SubjectEntry[] = registry.rpcs
      .filter((r) => !flags.service || r.service === flags.service)
      .sort((a, b) => a.subject.localeCompare(b.subject))
      .map((r) => ({
        subject: r.subject,
        service: r.service,
        rpc: `${r.protoService}.${r.method}`,
        request: r.request.fullName.slice(1),
        response: r.response.fullName.slice(1),
        example: exampleJson(r.request),
      }));
    if (flags.examples) {
      for (const e of entries)
        this.out(
          `${e.subject}  ${e.request} -> ${e.response}\n  gs request ${e.subject} '${JSON.stringify(e.example)}'`,
        );
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
