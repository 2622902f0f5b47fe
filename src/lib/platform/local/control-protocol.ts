// The local supervisor's control API: JSON requests on its own NATS, `<prefix>.<op>`.
import { EXIT, GsError } from "../../output/errors.js";
import type { Artifact, DeploymentInfo, ServiceDescription } from "../platform.js";

export const CONTROL_PREFIX = "$GS.LOCAL";

export interface ControlRequests {
  status: { names?: string[] };
  scale: { service: string; desired: number };
  deploy: { service: string; artifact: Artifact; timeoutMs: number };
  deployment: { service: string; id: string };
  "stop-deployment": { service: string; id: string; reason: string };
  canary: { service: string; artifact: Artifact; count: number; label: string };
  "canary-status": { service: string; id: string };
  "stop-canary": { service: string; id: string; reason: string };
  down: Record<string, never>;
}

export interface ControlResults {
  status: { services: ServiceDescription[] };
  scale: ServiceDescription;
  deploy: DeploymentInfo;
  deployment: DeploymentInfo;
  "stop-deployment": DeploymentInfo;
  canary: DeploymentInfo;
  "canary-status": DeploymentInfo;
  "stop-canary": DeploymentInfo;
  down: { stopping: true };
}

export type ControlOp = keyof ControlRequests;

export interface ControlErrorBody {
  message: string;
  hint?: string;
  code?: string;
  /** a usage error (unknown service, bad count): the CLI exits 2 */
  usage?: boolean;
}

export type ControlReply<T> = { ok: true; result: T } | { ok: false; error: ControlErrorBody };

/** An error the supervisor answers with instead of a result; the CLI throws it again from the reply. */
export class ControlError extends GsError {
  override name = "ControlError";
  constructor(
    message: string,
    readonly body: Omit<ControlErrorBody, "message"> = {},
  ) {
    super(message, { hint: body.hint, code: body.code, exit: body.usage ? EXIT.usage : EXIT.failed });
  }
}
