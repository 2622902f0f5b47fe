// Story graphs: validation (every problem at once, with the field it refers to), the beat a player
// sees at a node given their flags, and the move along a choice.

import type { Choice, StoryNode } from "../generated/story_teller/v1/story_teller.js";

// proto messages as generated from proto/ (services/generated)
export type { Choice, StoryNode };

export interface StoryGraph {
  storyId: string;
  title: string;
  description: string;
  startNodeId: string;
  nodes: StoryNode[];
}

export interface Problem {
  code: string;
  message: string;
  field: string;
}

export const LIMITS = { nodes: 2000, choicesPerNode: 20, text: 4000, id: 100, flagsPerChoice: 20, path: 200 };
const ID_RE = /^[A-Za-z0-9_-]+$/;

/** Every problem of a story graph; empty when it can be stored. */
export function validateStory(s: StoryGraph): Problem[] {
  const problems: Problem[] = [];
  const add = (code: string, field: string, message: string) => problems.push({ code, field, message });
  const checkId = (v: string, field: string) => {
    if (!v) add("REQUIRED", field, `${field} is required`);
    else if (v.length > LIMITS.id || !ID_RE.test(v))
      add("INVALID_ID", field, `${field} "${v}" must be 1-${LIMITS.id} letters, digits, _ or -`);
  };
  checkId(s.storyId, "story.storyId");
  if (!s.title) add("REQUIRED", "story.title", "story.title is required");
  if (s.nodes.length === 0) add("REQUIRED", "story.nodes", "a story needs at least one node");
  if (s.nodes.length > LIMITS.nodes) add("TOO_MANY_NODES", "story.nodes", `at most ${LIMITS.nodes} nodes`);

  const byId = new Map<string, StoryNode>();
  s.nodes.forEach((n, i) => {
    const f = `story.nodes[${i}]`;
    checkId(n.nodeId, `${f}.nodeId`);
    if (byId.has(n.nodeId)) add("DUPLICATE_NODE", `${f}.nodeId`, `node id "${n.nodeId}" is used twice`);
    else byId.set(n.nodeId, n);
    if (n.text.length > LIMITS.text) add("TOO_LONG", `${f}.text`, `node text is limited to ${LIMITS.text} characters`);
    if (n.isEnding && n.choices.length)
      add("ENDING_HAS_CHOICES", `${f}.choices`, `ending node "${n.nodeId}" must have no choices`);
    if (!n.isEnding && n.choices.length === 0)
      add("DEAD_END", `${f}.choices`, `node "${n.nodeId}" has no choices and is not an ending`);
    if (n.choices.length > LIMITS.choicesPerNode)
      add("TOO_MANY_CHOICES", `${f}.choices`, `at most ${LIMITS.choicesPerNode} choices per node`);
    const seen = new Set<string>();
    n.choices.forEach((c, j) => {
      const cf = `${f}.choices[${j}]`;
      checkId(c.choiceId, `${cf}.choiceId`);
      if (seen.has(c.choiceId))
        add("DUPLICATE_CHOICE", `${cf}.choiceId`, `choice id "${c.choiceId}" is used twice in node "${n.nodeId}"`);
      seen.add(c.choiceId);
      if (!c.text) add("REQUIRED", `${cf}.text`, "a choice needs text");
      const flags = [...c.requiredFlags, ...c.forbiddenFlags, ...c.setsFlags];
      if (flags.some((fl) => !fl || fl.length > LIMITS.id))
        add("INVALID_FLAG", cf, `flags must be 1-${LIMITS.id} characters`);
      if (flags.length > LIMITS.flagsPerChoice * 3) add("TOO_MANY_FLAGS", cf, "too many flags on one choice");
      if (c.requiredFlags.some((fl) => c.forbiddenFlags.includes(fl))) {
        add("IMPOSSIBLE_CHOICE", cf, `choice "${c.choiceId}" requires and forbids the same flag`);
      }
    });
  });
  // targets are checked once every id is known
  s.nodes.forEach((n, i) =>
    n.choices.forEach((c, j) => {
      if (!byId.has(c.nextNodeId)) {
        add(
          "UNKNOWN_NODE",
          `story.nodes[${i}].choices[${j}].nextNodeId`,
          `choice "${c.choiceId}" of "${n.nodeId}" leads to unknown node "${c.nextNodeId}"`,
        );
      }
    }),
  );
  if (!s.startNodeId) add("REQUIRED", "story.startNodeId", "story.startNodeId is required");
  else if (!byId.has(s.startNodeId))
    add("UNKNOWN_NODE", "story.startNodeId", `start node "${s.startNodeId}" does not exist`);
  else {
    const reached = reachable(byId, s.startNodeId);
    s.nodes.forEach((n, i) => {
      if (!reached.has(n.nodeId))
        add("UNREACHABLE_NODE", `story.nodes[${i}]`, `node "${n.nodeId}" cannot be reached from "${s.startNodeId}"`);
    });
    if (problems.length === 0 && ![...reached].some((id) => byId.get(id)?.isEnding)) {
      add("NO_ENDING", "story.nodes", "no ending node can be reached from the start");
    }
  }
  return problems;
}

function reachable(byId: Map<string, StoryNode>, start: string): Set<string> {
  const seen = new Set([start]);
  const queue = [start];
  while (queue.length) {
    for (const c of byId.get(queue.shift()!)?.choices ?? []) {
      if (byId.has(c.nextNodeId) && !seen.has(c.nextNodeId)) {
        seen.add(c.nextNodeId);
        queue.push(c.nextNodeId);
      }
    }
  }
  return seen;
}

export function summarize(s: StoryGraph): { nodeCount: number; endingCount: number } {
  return { nodeCount: s.nodes.length, endingCount: s.nodes.filter((n) => n.isEnding).length };
}

/** Where a player is in a story. */
export interface Progress {
  nodeId: string;
  flags: string[];
  path: string[];
  startedAt: string;
  updatedAt: string;
}

export function startProgress(s: StoryGraph, now: string): Progress {
  return { nodeId: s.startNodeId, flags: [], path: [s.startNodeId], startedAt: now, updatedAt: now };
}

export function isAvailable(c: Choice, flags: readonly string[]): boolean {
  return c.requiredFlags.every((f) => flags.includes(f)) && !c.forbiddenFlags.some((f) => flags.includes(f));
}

export function nodeOf(s: StoryGraph, nodeId: string): StoryNode | undefined {
  return s.nodes.find((n) => n.nodeId === nodeId);
}

/** A choice that cannot be taken: `code` says why (the service maps it to a status). */
export class ChoiceRejected extends Error {
  constructor(
    readonly code: "STALE_NODE" | "AT_ENDING" | "UNKNOWN_CHOICE" | "CHOICE_UNAVAILABLE",
    message: string,
  ) {
    super(message);
  }
}

export interface Move {
  progress: Progress;
  choice: Choice;
  from: string;
  /** flags newly set by the choice */
  flagsSet: string[];
}

/** Take `choiceId` from the player's current node. Throws ChoiceRejected. */
export function applyChoice(s: StoryGraph, p: Progress, choiceId: string, expectedNodeId: string, now: string): Move {
  if (expectedNodeId && expectedNodeId !== p.nodeId) {
    throw new ChoiceRejected("STALE_NODE", `the player is at node "${p.nodeId}", not "${expectedNodeId}"`);
  }
  const node = nodeOf(s, p.nodeId)!;
  if (node.isEnding)
    throw new ChoiceRejected("AT_ENDING", `node "${node.nodeId}" is an ending: nothing left to choose`);
  const choice = node.choices.find((c) => c.choiceId === choiceId);
  if (!choice) {
    const ids = node.choices.filter((c) => isAvailable(c, p.flags)).map((c) => c.choiceId);
    throw new ChoiceRejected(
      "UNKNOWN_CHOICE",
      `node "${node.nodeId}" has no choice "${choiceId}" (available: ${ids.join(", ") || "none"})`,
    );
  }
  if (!isAvailable(choice, p.flags)) {
    throw new ChoiceRejected("CHOICE_UNAVAILABLE", `choice "${choiceId}" is not available with the player's flags`);
  }
  const flagsSet = choice.setsFlags.filter((f, i, all) => !p.flags.includes(f) && all.indexOf(f) === i);
  const path = [...p.path, choice.nextNodeId].slice(-LIMITS.path);
  return {
    progress: { ...p, nodeId: choice.nextNodeId, flags: [...p.flags, ...flagsSet], path, updatedAt: now },
    choice,
    from: p.nodeId,
    flagsSet,
  };
}
