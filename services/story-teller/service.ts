// story-teller: branching story graphs and each player's position and flags within them.
// Env: none.
// State: `story.<storyId>` -> StoredStory, `progress.<storyId>.<playerId>` -> Progress.
// Events: StoryDefinedEvent, StoryStartedEvent, StoryChoiceMadeEvent, StoryEndingReachedEvent,
//         StoryProgressResetEvent.
import { badRequest, conflict, failedPrecondition, notFound, ServiceError } from "../sdk/errors.js";
import { defineService, ServiceBase, type RpcHandlers } from "../sdk/runtime.js";
import {
  applyChoice,
  ChoiceRejected,
  isAvailable,
  LIMITS,
  nodeOf,
  startProgress,
  summarize,
  validateStory,
  type Move,
  type Progress,
  type StoryGraph,
  type StoryNode,
} from "./domain.js";
import type {
  Beat,
  ChooseRequest,
  ChooseResponse,
  DefineStoryRequest,
  DefineStoryResponse,
  GetCurrentBeatRequest,
  GetCurrentBeatResponse,
  GetStoryRequest,
  GetStoryResponse,
  ListStoriesRequest,
  ListStoriesResponse,
  ResetProgressRequest,
  ResetProgressResponse,
  StorySummary,
  StoryTellerServiceRpcs,
} from "../generated/story_teller/v1/story_teller.js";

/** One player's progress through one story, as GetCurrentBeat, Choose and ResetProgress name it. */
type PlayerStoryRequest = Pick<GetCurrentBeatRequest, "playerId" | "storyId">;

// ---------- state ----------
type StoredStory = StoryGraph & { version: number; updatedAt: string };

const STATUS: Record<ChoiceRejected["code"], number> = {
  STALE_NODE: 409,
  AT_ENDING: 412,
  UNKNOWN_CHOICE: 400,
  CHOICE_UNAVAILABLE: 412,
};

function requireIds(req: PlayerStoryRequest): void {
  if (!req.playerId) throw badRequest("playerId is required");
  if (!req.storyId) throw badRequest("storyId is required");
  if (req.playerId.length > LIMITS.id) throw badRequest(`playerId is longer than ${LIMITS.id} characters`);
  if (req.storyId.length > LIMITS.id) throw badRequest(`storyId is longer than ${LIMITS.id} characters`);
}

function summary(s: StoredStory): StorySummary {
  return { storyId: s.storyId, title: s.title, description: s.description, version: s.version, ...summarize(s) };
}

function beat(s: StoredStory, playerId: string, p: Progress): Beat {
  const node = nodeOf(s, p.nodeId)!;
  return {
    storyId: s.storyId,
    playerId,
    nodeId: node.nodeId,
    text: node.text,
    speaker: node.speaker,
    choices: node.choices.filter((c) => isAvailable(c, p.flags)),
    isEnding: node.isEnding,
    flags: p.flags,
    path: p.path,
    updatedAt: p.updatedAt,
  };
}

class StoryTeller extends ServiceBase implements RpcHandlers<StoryTellerServiceRpcs> {
  private readonly progressKey = (req: PlayerStoryRequest) => `progress.${req.storyId}.${req.playerId}`;

  async DefineStory(req: DefineStoryRequest): Promise<DefineStoryResponse> {
    if (!req.story) throw badRequest("story is required");
    const { storyId, title, description, startNodeId } = req.story;
    const nodes: StoryNode[] = req.story.nodes.map(({ nodeId, text, speaker, choices, isEnding }) => ({
      nodeId,
      text,
      speaker,
      choices,
      isEnding,
    }));
    const graph: StoryGraph = { storyId, title, description, startNodeId, nodes };
    const errors = validateStory(graph);
    if (errors.length) return { stored: false, created: false, errors };
    let created = false;
    const saved = await this.ctx.state.update<StoredStory>(`story.${storyId}`, (cur) => {
      created = !cur;
      return { ...graph, version: (cur?.version ?? 0) + 1, updatedAt: new Date().toISOString() };
    });
    await this.ctx.events.publish("StoryDefinedEvent", { storyId, version: saved.value.version, created });
    return { stored: true, story: summary(saved.value), created, errors: [] };
  }

  async GetStory(req: GetStoryRequest): Promise<GetStoryResponse> {
    if (!req.storyId) throw badRequest("storyId is required");
    const s = (await this.ctx.state.get<StoredStory>(`story.${req.storyId}`))?.value;
    return s ? { found: true, story: s } : { found: false };
  }

  async ListStories(_req: ListStoriesRequest): Promise<ListStoriesResponse> {
    const stories: StorySummary[] = [];
    for (const key of await this.ctx.state.keys("story")) {
      const s = (await this.ctx.state.get<StoredStory>(key))?.value;
      if (s) stories.push(summary(s));
    }
    return { stories: stories.sort((a, b) => a.storyId.localeCompare(b.storyId)) };
  }

  // Starts the story when the player has no progress, or when a redefinition removed their node.
  async GetCurrentBeat(req: GetCurrentBeatRequest): Promise<GetCurrentBeatResponse> {
    requireIds(req);
    const story = await this.loadStory(req.storyId);
    let started = false;
    const saved = await this.ctx.state.update<Progress>(this.progressKey(req), (cur) => {
      started = !cur || !nodeOf(story, cur.nodeId);
      return started ? startProgress(story, new Date().toISOString()) : cur!;
    });
    if (started) {
      await this.ctx.events.publish("StoryStartedEvent", {
        playerId: req.playerId,
        storyId: req.storyId,
        at: saved.value.startedAt,
      });
    }
    return { beat: beat(story, req.playerId, saved.value), started };
  }

  async Choose(req: ChooseRequest): Promise<ChooseResponse> {
    requireIds(req);
    if (!req.choiceId) throw badRequest("choiceId is required");
    const story = await this.loadStory(req.storyId);
    let move: Move | undefined;
    let saved;
    try {
      saved = await this.ctx.state.update<Progress>(this.progressKey(req), (cur) => {
        if (!cur)
          throw failedPrecondition(
            `player "${req.playerId}" has not started "${req.storyId}": call GetCurrentBeat first`,
          );
        if (!nodeOf(story, cur.nodeId)) {
          throw failedPrecondition(
            `"${req.storyId}" was redefined without node "${cur.nodeId}": call GetCurrentBeat to restart`,
          );
        }
        move = applyChoice(story, cur, req.choiceId, req.expectedNodeId, new Date().toISOString());
        return move.progress;
      });
    } catch (err) {
      if (err instanceof ChoiceRejected) throw new ServiceError(STATUS[err.code], err.message);
      if (err instanceof ServiceError && err.code === 409)
        throw conflict(`progress of "${req.playerId}" changed concurrently: retry`);
      throw err;
    }
    const m = move!;
    const p = saved.value;
    await this.ctx.events.publish("StoryChoiceMadeEvent", {
      playerId: req.playerId,
      storyId: req.storyId,
      fromNodeId: m.from,
      choiceId: m.choice.choiceId,
      toNodeId: p.nodeId,
      flagsSet: m.flagsSet,
      at: p.updatedAt,
    });
    const b = beat(story, req.playerId, p);
    if (b.isEnding) {
      await this.ctx.events.publish("StoryEndingReachedEvent", {
        playerId: req.playerId,
        storyId: req.storyId,
        nodeId: p.nodeId,
        at: p.updatedAt,
      });
    }
    return { beat: b, previousNodeId: m.from };
  }

  async ResetProgress(req: ResetProgressRequest): Promise<ResetProgressResponse> {
    requireIds(req);
    const story = await this.loadStory(req.storyId);
    const fresh = startProgress(story, new Date().toISOString());
    await this.ctx.state.put(this.progressKey(req), fresh);
    await this.ctx.events.publish("StoryProgressResetEvent", {
      playerId: req.playerId,
      storyId: req.storyId,
      at: fresh.updatedAt,
    });
    return { beat: beat(story, req.playerId, fresh) };
  }

  private async loadStory(storyId: string): Promise<StoredStory> {
    const s = (await this.ctx.state.get<StoredStory>(`story.${storyId}`))?.value;
    if (!s) throw notFound(`no story "${storyId}"`);
    return s;
  }
}

export default defineService({
  name: "story-teller",
  description: "Branching story graphs and each player's progress through them",
  start: (ctx) => new StoryTeller(ctx),
});
