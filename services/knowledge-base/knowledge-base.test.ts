import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../test-support/harness.js";
import type { RunningService } from "../sdk/runtime.js";
import { Bm25Index, snippet, tokenize } from "./domain.js";
import service from "./service.js";

describe("knowledge-base domain", () => {
  it("lowercases, strips punctuation and drops stop words", () => {
    expect(tokenize("The Dragon's Hoard, of Ember-Gate!")).toEqual(["dragons", "hoard", "ember", "gate"]);
  });

  it("scores with BM25 (k1=1.2, b=0.75) as computed by hand", () => {
    const idx = new Bm25Index();
    idx.add("a", ["dragon", "fire", "dragon"]);
    idx.add("b", ["river", "fish"]);
    idx.add("c", ["dragon", "river", "stone", "moss"]);
    // N=3, avgdl=3; dragon: n=2, idf=ln(1 + 1.5/2.5)
    const idf = Math.log(1 + 1.5 / 2.5);
    const a = (idf * 2 * 2.2) / (2 + 1.2 * (1 - 0.75 + 0.75 * (3 / 3)));
    const c = (idf * 1 * 2.2) / (1 + 1.2 * (1 - 0.75 + 0.75 * (4 / 3)));
    const hits = idx.search(["dragon"]);
    expect(hits.map((h) => h.docId)).toEqual(["a", "c"]);
    expect(hits[0]!.score).toBeCloseTo(a, 10);
    expect(hits[1]!.score).toBeCloseTo(c, 10);
  });

  it("forgets a removed document's terms", () => {
    const idx = new Bm25Index();
    idx.add("a", ["dragon"]);
    idx.add("a", ["wyrm"]);
    expect(idx.search(["dragon"])).toEqual([]);
    idx.remove("a");
    expect(idx.size).toBe(0);
    expect(idx.search(["wyrm"])).toEqual([]);
  });

  it("cuts a snippet around the densest cluster of terms and highlights them", () => {
    const text =
      "Long ago the valley was quiet. " +
      "Farmers tilled the fields. ".repeat(10) +
      "Then the red dragon burned the Ember Gate, and the dragon slept.";
    const s = snippet(text, new Set(["dragon", "ember"]), 12);
    expect(s.startsWith("… ")).toBe(true);
    expect(s).toContain("**dragon** burned the **Ember** Gate, and the **dragon** slept.");
  });
});

describe("knowledge-base service, two instances", () => {
  let h: Harness;
  let first: RunningService[];
  const docs = [
    {
      docId: "ember-gate",
      title: "The Ember Gate",
      body: "A gate of black iron, forged by the dragon Vyrmax, guards the road to the Ashen Peaks.",
      tags: ["places", "dragons"],
    },
    {
      docId: "vyrmax",
      title: "Vyrmax the Red",
      body: "Vyrmax is an ancient red dragon. The dragon sleeps beneath the Ashen Peaks and dreams of fire.",
      tags: ["creatures", "dragons"],
    },
    {
      docId: "river-folk",
      title: "The River Folk",
      body: "Fishermen of the silver river trade salt and stories. They fear no dragon.",
      tags: ["peoples"],
    },
  ];
  beforeAll(async () => {
    h = await startHarness();
    first = [await h.start(service), await h.start(service)];
  });
  afterAll(async () => h?.stop());

  it("adds documents and replaces one by id, counting versions", async () => {
    for (const d of docs)
      expect(await h.call("knowledge-base.add-document", d)).toMatchObject({ created: true, document: { version: 1 } });
    const again = await h.call<{ created: boolean; document: { version: number; termCount: number } }>(
      "knowledge-base.add-document",
      docs[0]!,
    );
    expect([again.created, again.document.version]).toEqual([false, 2]);
    expect(again.document.termCount).toBe(tokenize(`${docs[0]!.title} ${docs[0]!.body}`).length);
  });

  it("ranks by BM25 with snippets, the same from either instance", async () => {
    for (let i = 0; i < 4; i++) {
      const r = await h.call<{
        hits: { docId: string; snippet: string; matchedTerms: string[]; score: number }[];
        totalMatches: number;
        queryTerms: string[];
      }>("knowledge-base.search", { query: "the red Dragon!" });
      expect(r.queryTerms).toEqual(["red", "dragon"]);
      expect(r.totalMatches).toBe(3);
      expect(r.hits[0]).toMatchObject({ docId: "vyrmax", matchedTerms: ["red", "dragon"] });
      expect(r.hits[0]!.snippet).toContain("**red** **dragon**");
      expect(r.hits[0]!.score).toBeGreaterThan(r.hits[1]!.score);
    }
  });

  it("filters by tags and honours the limit", async () => {
    const r = await h.call<{ hits: { docId: string }[]; totalMatches: number }>("knowledge-base.search", {
      query: "dragon",
      tags: ["Places"],
      limit: 5,
    });
    expect(r.hits.map((x) => x.docId)).toEqual(["ember-gate"]);
    const one = await h.call<{ hits: unknown[]; totalMatches: number }>("knowledge-base.search", {
      query: "dragon",
      limit: 1,
    });
    expect([one.hits.length, one.totalMatches]).toEqual([1, 3]);
  });

  it("sees every change made through the other instance", async () => {
    // 10 alternating rounds: the queue group spreads calls over both instances
    for (let i = 0; i < 10; i++) {
      await h.call("knowledge-base.add-document", {
        docId: `note-${i}`,
        title: `Note ${i}`,
        body: `glimmerstone shard number ${i}`,
      });
      const r = await h.call<{ totalMatches: number }>("knowledge-base.search", { query: "glimmerstone" });
      expect(r.totalMatches).toBe(i + 1);
    }
    for (let i = 0; i < 10; i++) {
      expect(await h.call("knowledge-base.delete-document", { docId: `note-${i}` })).toEqual({ deleted: true });
      expect(
        (await h.call<{ totalMatches: number }>("knowledge-base.search", { query: "glimmerstone" })).totalMatches,
      ).toBe(9 - i);
    }
  });

  it("rebuilds its index when meta.version moved, whoever changed the documents", async () => {
    // what another instance does: write the document, then bump the version
    const state = first[0]!.ctx.state;
    const now = new Date().toISOString();
    await state.put("doc.outside", {
      docId: "outside",
      title: "Written elsewhere",
      body: "a quillfeather omen",
      tags: [],
      locale: "en",
      termCount: 4,
      version: 1,
      createdAt: now,
      updatedAt: now,
    });
    await state.update<{ version: number }>("meta.version", (m) => ({ version: (m?.version ?? 0) + 1 }));
    for (let i = 0; i < 4; i++) {
      const r = await h.call<{ hits: { docId: string }[] }>("knowledge-base.search", { query: "quillfeather" });
      expect(r.hits.map((x) => x.docId)).toEqual(["outside"]);
    }
  });

  it("builds its index from state when it starts", async () => {
    for (const s of first) await s.stop();
    await h.start(service);
    const r = await h.call<{ hits: { docId: string }[] }>("knowledge-base.search", { query: "fishermen salt" });
    expect(r.hits.map((x) => x.docId)).toEqual(["river-folk"]);
  });

  it("gets, lists by tag with paging, and deletes", async () => {
    expect(await h.call("knowledge-base.get-document", { docId: "vyrmax" })).toMatchObject({
      found: true,
      document: { title: "Vyrmax the Red" },
    });
    const p1 = await h.call<{ documents: { docId: string }[]; page: { nextPageToken: string; total: number } }>(
      "knowledge-base.list-documents",
      { tag: "dragons", page: { pageSize: 1 } },
    );
    expect([p1.documents.map((d) => d.docId), p1.page.total]).toEqual([["ember-gate"], 2]);
    const p2 = await h.call<{ documents: { docId: string }[]; page: { nextPageToken: string } }>(
      "knowledge-base.list-documents",
      { tag: "dragons", page: { pageSize: 1, pageToken: p1.page.nextPageToken } },
    );
    expect([p2.documents.map((d) => d.docId), p2.page.nextPageToken]).toEqual([["vyrmax"], ""]);
    expect(await h.call("knowledge-base.delete-document", { docId: "vyrmax" })).toEqual({ deleted: true });
    expect(await h.call("knowledge-base.delete-document", { docId: "vyrmax" })).toEqual({ deleted: false });
    expect(await h.call("knowledge-base.get-document", { docId: "vyrmax" })).toEqual({ found: false });
    const r = await h.call<{ hits: { docId: string }[] }>("knowledge-base.search", { query: "vyrmax" });
    expect(r.hits.map((x) => x.docId)).toEqual(["ember-gate"]);
  });

  it("generates an id when none is given", async () => {
    const r = await h.call<{ document: { docId: string } }>("knowledge-base.add-document", {
      title: "Untitled lore",
      body: "",
    });
    expect(r.document.docId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers a query of only stop words with no hits, and rejects an empty query and a missing title with 400", async () => {
    expect(await h.call("knowledge-base.search", { query: "the and of" })).toEqual({
      hits: [],
      totalMatches: 0,
      queryTerms: [],
    });
    expect((await h.fail("knowledge-base.search", { query: "  " })).code).toBe(400);
    expect((await h.fail("knowledge-base.add-document", { docId: "x", body: "text" })).code).toBe(400);
  });
});
