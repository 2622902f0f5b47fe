// Colours by health; none at all when NO_COLOR is set (Ink's chalk does not read NO_COLOR itself).
import type { Health } from "../status/fleet-snapshot.js";

export type Colour = "green" | "cyan" | "yellow" | "red" | "gray" | "magenta";

const byHealth: Record<Health, Colour> = {
  healthy: "green",
  "rolling-out": "cyan",
  degraded: "yellow",
  failing: "red",
  stopped: "gray",
  unknown: "magenta",
};

export interface Theme {
  color: boolean;
  health(h: Health): Colour | undefined;
  of(c: Colour): Colour | undefined;
}

export function theme(color: boolean): Theme {
  return { color, health: (h) => (color ? byHealth[h] : undefined), of: (c) => (color ? c : undefined) };
}

export const HEALTH_LABEL: Record<Health, string> = {
  healthy: "healthy",
  "rolling-out": "rolling out",
  degraded: "degraded",
  failing: "failing",
  stopped: "stopped",
  unknown: "unknown",
};

/** A mark beside the label, so state reads without colour too. */
export const HEALTH_MARK: Record<Health, string> = {
  healthy: "●",
  "rolling-out": "◐",
  degraded: "▲",
  failing: "✖",
  stopped: "○",
  unknown: "?",
};
