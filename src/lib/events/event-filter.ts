// The subjects `gs events` reads: the EVENTS stream holds `events.<service>.<event>` (services/sdk/
// events.ts). A filter must name that space; a service or event named outright must exist in proto/,
// so a typo is an error with suggestions instead of an empty, silent read.
import { closestNames } from "@gs/fleet/sdk/closest-names";
import type { ProtoRegistry } from "@gs/fleet/sdk/registry";
import { validateSubscribeSubject } from "../messaging/subscribe.js";
import { UsageError } from "../output/errors.js";

export const ALL_EVENTS = "events.>";

export function checkEventFilter(registry: ProtoRegistry, subject: string): void {
  validateSubscribeSubject(subject);
  const [head, service, event, ...rest] = subject.split(".");
  if (head !== "events" || service === undefined)
    throw new UsageError(
      `${subject} is not an event subject: the EVENTS stream holds events.<service>.<event>`,
      "e.g. --subject 'events.payment.>' or events.payment.funds-deposited",
      "bad_event_subject",
    );
  if (service === "*" || service === ">") return;
  const svc = registry.service(service);
  if (!svc) {
    const close = closestNames(
      service,
      registry.services.map((s) => s.name),
    );
    throw new UsageError(
      `no service ${service} in proto/${close.length ? ` (did you mean events.${close[0]}.${[event ?? ">", ...rest].join(".")}?)` : ""}`,
      "`gs subjects` lists every event subject",
      "unknown_event_subject",
    );
  }
  if (event === undefined)
    throw new UsageError(
      `${subject} matches no event: event subjects have three tokens`,
      `use --subject '${subject}.>' for every event of ${service}`,
      "bad_event_subject",
    );
  if (event === "*" || event === ">") return;
  if (rest.length === 0 && svc.events.some((e) => e.event === event)) return;
  const close = closestNames(
    subject,
    svc.events.map((e) => e.subject),
  );
  throw new UsageError(
    `${service} publishes no event ${subject}${close.length ? ` (did you mean ${close.join(", ")}?)` : ""}`,
    `its events: ${svc.events.map((e) => e.event).join(", ") || "none"}`,
    "unknown_event_subject",
  );
}
