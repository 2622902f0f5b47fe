import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../test-support/harness.js";
import { applyChoice, ChoiceRejected, startProgress, validateStory, type StoryGraph } from "./domain.js";
import service from "./service.js";

const choice = (
  choiceId: string,
  nextNodeId: string,
  extra: Partial<Record<"requiredFlags" | "forbiddenFlags" | "setsFlags", string[]>> = {},
) => ({
  choiceId,
  text: `take ${choiceId}`,
  nextNodeId,
  requiredFlags: extra.requiredFlags ?? [],
  forbiddenFlags: extra.forbiddenFlags ?? [],
  setsFlags: extra.setsFlags ?? [],
});
const node = (nodeId: string, choices: ReturnType<typeof choice>[], isEnding = false) => ({
  nodeId,
  text: `at ${nodeId}`,
  speaker: "",
  choices,
  isEnding,
});

// gate -> (bribe: sets "paid") -> hall ; gate -> (sneak) -> hall ; hall -> (vip needs "paid") -> throne (end) ; hall -> (leave) -> road (end)
const castle: StoryGraph = {
  storyId: "castle",
  title: "The Castle",
  description: "Get in, somehow",
  startNodeId: "gate",
  nodes: [
    node("gate", [
      choice("bribe", "hall", { setsFlags: ["paid"] }),
      choice("sneak", "hall", { setsFlags: ["sneaky"] }),
    ]),
    node("hall", [choice("vip", "throne", { requiredFlags: ["paid"] }), choice("leave", "road")]),
    node("throne", [], true),
    node("road", [], true),
  ],
};

describe("story-teller domain", () => {
  it("accepts a well-formed graph", () => {
    expect(validateStory(castle)).toEqual([]);
  });

  it("reports a missing start node, unknown targets, unreachable nodes, endings with choices and dead ends", () => {
    const bad: StoryGraph = {
      ...castle,
      startNodeId: "moat",
      nodes: [node("gate", [choice("go", "nowhere")]), node("end", [choice("again", "gate")], true), node("stuck", [])],
    };
    const codes = validateStory(bad)
      .map((p) => p.code)
      .sort();
    expect(codes).toEqual(["DEAD_END", "ENDING_HAS_CHOICES", "UNKNOWN_NODE", "UNKNOWN_NODE"]);
    const orphan: StoryGraph = { ...castle, nodes: [...castle.nodes, node("attic", [], true)] };
    expect(validateStory(orphan)).toEqual([
      { code: "UNREACHABLE_NODE", field: "story.nodes[4]", message: 'node "attic" cannot be reached from "gate"' },
    ]);
  });

  it("moves along a choice, sets flags and guards choices by flags", () => {
    const start = startProgress(castle, "t0");
    const sneak = applyChoice(castle, start, "sneak", "", "t1");
    expect(sneak.progress).toMatchObject({ nodeId: "hall", flags: ["sneaky"], path: ["gate", "hall"] });
    expect(() => applyChoice(castle, sneak.progress, "vip", "", "t2")).toThrow(ChoiceRejected);
    const bribe = applyChoice(castle, start, "bribe", "gate", "t1");
    expect(applyChoice(castle, bribe.progress, "vip", "hall", "t2").progress.nodeId).toBe("throne");
    try {
      applyChoice(castle, bribe.progress, "leave", "gate", "t2");
      expect.unreachable();
    } catch (err) {
      expect((err as ChoiceRejected).code).toBe("STALE_NODE");
    }
  });
});

describe("story-teller over NATS", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await h.start(service);
    await h.start(service); // two instances share the state
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("stores a valid story and bumps its version when it is redefined", async () => {
    const first = await h.call("story-teller.define-story", { story: castle });
    expect(first).toMatchObject({
      stored: true,
      created: true,
      story: { storyId: "castle", nodeCount: 4, endingCount: 2, version: 1 },
    });
    const again = await h.call("story-teller.define-story", { story: castle });
    expect(again).toMatchObject({ stored: true, created: false, story: { version: 2 } });
    const got = await h.call<{ found: boolean; story: { nodes: unknown[]; version: number } }>(
      "story-teller.get-story",
      { storyId: "castle" },
    );
    expect(got.found).toBe(true);
    expect(got.story.nodes).toHaveLength(4);
    const list = await h.call<{ stories: { storyId: string }[] }>("story-teller.list-stories", {});
    expect(list.stories.map((s) => s.storyId)).toContain("castle");
  });

  it("returns validation problems instead of storing a broken story", async () => {
    const r = await h.call("story-teller.define-story", {
      story: { ...castle, storyId: "broken", startNodeId: "nope" },
    });
    expect(r).toMatchObject({ stored: false, errors: [{ code: "UNKNOWN_NODE", field: "story.startNodeId" }] });
    expect((await h.call("story-teller.get-story", { storyId: "broken" })).found).toBe(false);
  });

  it("starts the story on the first beat and plays it to an ending", async () => {
    const first = await h.call<{ started: boolean; beat: { nodeId: string; choices: { choiceId: string }[] } }>(
      "story-teller.get-current-beat",
      {
        playerId: "p1",
        storyId: "castle",
      },
    );
    expect(first.started).toBe(true);
    expect(first.beat.nodeId).toBe("gate");
    expect((await h.call("story-teller.get-current-beat", { playerId: "p1", storyId: "castle" })).started).toBe(false);

    const hall = await h.call<{
      beat: { nodeId: string; choices: { choiceId: string }[]; flags: string[] };
      previousNodeId: string;
    }>("story-teller.choose", {
      playerId: "p1",
      storyId: "castle",
      choiceId: "sneak",
    });
    expect(hall.previousNodeId).toBe("gate");
    expect(hall.beat.choices.map((c) => c.choiceId)).toEqual(["leave"]); // vip needs "paid"
    expect((await h.fail("story-teller.choose", { playerId: "p1", storyId: "castle", choiceId: "vip" })).code).toBe(
      412,
    );

    const end = await h.call<{ beat: { isEnding: boolean; path: string[] } }>("story-teller.choose", {
      playerId: "p1",
      storyId: "castle",
      choiceId: "leave",
    });
    expect(end.beat).toMatchObject({ isEnding: true, path: ["gate", "hall", "road"] });
    expect((await h.fail("story-teller.choose", { playerId: "p1", storyId: "castle", choiceId: "leave" })).code).toBe(
      412,
    );
  });

  it("rejects a choice made from a stale node with 409", async () => {
    await h.call("story-teller.get-current-beat", { playerId: "p2", storyId: "castle" });
    await h.call("story-teller.choose", {
      playerId: "p2",
      storyId: "castle",
      choiceId: "bribe",
      expectedNodeId: "gate",
    });
    const err = await h.fail("story-teller.choose", {
      playerId: "p2",
      storyId: "castle",
      choiceId: "bribe",
      expectedNodeId: "gate",
    });
    expect(err.code).toBe(409);
    expect(err.message).toMatch(/at node "hall"/);
  });

  it("resets progress back to the start node", async () => {
    await h.call("story-teller.get-current-beat", { playerId: "p3", storyId: "castle" });
    await h.call("story-teller.choose", { playerId: "p3", storyId: "castle", choiceId: "bribe" });
    const reset = await h.call<{ beat: { nodeId: string; flags: string[]; path: string[] } }>(
      "story-teller.reset-progress",
      { playerId: "p3", storyId: "castle" },
    );
    expect(reset.beat).toMatchObject({ nodeId: "gate", flags: [], path: ["gate"] });
  });

  it("answers 400 for missing ids or unknown choices and 404 for unknown stories", async () => {
    expect((await h.fail("story-teller.get-current-beat", { storyId: "castle" })).code).toBe(400);
    expect((await h.fail("story-teller.get-current-beat", { playerId: "p4", storyId: "atlantis" })).code).toBe(404);
    await h.call("story-teller.get-current-beat", { playerId: "p4", storyId: "castle" });
    const err = await h.fail("story-teller.choose", { playerId: "p4", storyId: "castle", choiceId: "fly" });
    expect(err.code).toBe(400);
    expect(err.message).toMatch(/available: bribe, sneak/);
    expect((await h.fail("story-teller.define-story", {})).code).toBe(400);
  });

  it("requires the story to be started before a choice", async () => {
    expect(
      (await h.fail("story-teller.choose", { playerId: "newbie", storyId: "castle", choiceId: "bribe" })).code,
    ).toBe(412);
  });
});
