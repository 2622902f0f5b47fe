// knowledge-base: lore documents with full-text search ranked by BM25 (domain.ts).
// Env: KB_MAX_BODY_BYTES (largest body accepted, default 262144), KB_SEARCH_MAX_LIMIT (default 50).
// State: doc.<docId> = Document (the source of truth); meta.version = { version } — bumped after every
// change, so an instance whose in-memory index was built at another version rebuilds it from the documents
// in state before it answers. Its own changes it applies directly (when no one else's came in between).
import { randomUUID } from "node:crypto";
import { badRequest } from "../sdk/errors.js";
import { defineService, ServiceBase, type RpcHandlers, type ServiceContext } from "../sdk/runtime.js";
import { RevisionConflict } from "../sdk/state.js";
import { Bm25Index, snippet, tokenize } from "./domain.js";
import type {
  AddDocumentRequest,
  AddDocumentResponse,
  DeleteDocumentRequest,
  DeleteDocumentResponse,
  Document,
  DocumentSummary,
  GetDocumentRequest,
  GetDocumentResponse,
  KnowledgeBaseServiceRpcs,
  ListDocumentsRequest,
  ListDocumentsResponse,
  SearchHit,
  SearchRequest,
  SearchResponse,
} from "../generated/knowledge_base/v1/knowledge_base.js";

interface Meta {
  version: number;
}
const docKey = (id: string) => `doc.${id}`;
const META = "meta.version";
const DOC_ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
const PAGE_DEFAULT = 50;
const PAGE_MAX = 200;

function normalizeTags(tags: string[]): string[] {
  const out = [...new Set(tags.map((t) => t.trim().toLowerCase()).filter(Boolean))];
  if (out.length > 32) throw badRequest("at most 32 tags");
  if (out.some((t) => t.length > 64)) throw badRequest("tags must be at most 64 characters");
  return out;
}

/** What this instance searches: the documents and their index at one version of the state. */
class LocalIndex {
  docs = new Map<string, Document>();
  index = new Bm25Index();
  version = -1;
  put(doc: Document) {
    this.docs.set(doc.docId, doc);
    this.index.add(doc.docId, tokenize(`${doc.title}\n${doc.body}`));
  }
  remove(docId: string) {
    this.docs.delete(docId);
    this.index.remove(docId);
  }
}

function intEnv(ctx: ServiceContext, name: string, fallback: number): number {
  const n = Number(ctx.env[name] ?? fallback);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
}

class KnowledgeBase extends ServiceBase implements RpcHandlers<KnowledgeBaseServiceRpcs> {
  private readonly maxBody = intEnv(this.ctx, "KB_MAX_BODY_BYTES", 256 * 1024);
  private readonly maxLimit = intEnv(this.ctx, "KB_SEARCH_MAX_LIMIT", 50);
  private readonly publish = (name: string, data: unknown) =>
    this.ctx.events
      .publish(name, data)
      .catch((err: Error) => this.ctx.log.warn("event not published", { event: name, err: err.message }));
  private local = new LocalIndex();

  // one writer of `local` at a time: rebuilds and this instance's own changes
  private lock: Promise<unknown> = Promise.resolve();
  private readonly storedVersion = async () => (await this.ctx.state.get<Meta>(META))?.value.version ?? 0;
  private readonly summary = (d: Document): DocumentSummary => ({
    docId: d.docId,
    title: d.title,
    tags: d.tags,
    termCount: d.termCount,
    updatedAt: d.updatedAt,
  });

  async AddDocument(req: AddDocumentRequest): Promise<AddDocumentResponse> {
    const docId = req.docId.trim() || randomUUID();
    if (!DOC_ID_RE.test(docId)) throw badRequest("doc_id must be 1-128 characters of A-Z a-z 0-9 _ . : -");
    const title = req.title.trim();
    if (!title) throw badRequest("title is required");
    if (title.length > 300) throw badRequest("title must be at most 300 characters");
    if (Buffer.byteLength(req.body, "utf8") > this.maxBody)
      throw badRequest(`body must be at most ${this.maxBody} bytes`);
    const tags = normalizeTags(req.tags);
    const locale = req.locale.trim() || "en";
    if (locale.length > 16) throw badRequest("locale must be at most 16 characters");
    const termCount = tokenize(`${title}\n${req.body}`).length;
    const now = new Date().toISOString();
    let created = false;
    const { value: doc } = await this.ctx.state.update<Document>(docKey(docId), (cur) => {
      created = !cur;
      return {
        docId,
        title,
        body: req.body,
        tags,
        locale,
        termCount,
        version: (cur?.version ?? 0) + 1,
        createdAt: cur?.createdAt ?? now,
        updatedAt: now,
      };
    });
    await this.changed((idx) => idx.put(doc));
    await this.publish("DocumentAddedEvent", { docId, title, version: doc.version, created, at: now });
    return { document: doc, created };
  }

  async GetDocument(req: GetDocumentRequest): Promise<GetDocumentResponse> {
    if (!req.docId) throw badRequest("doc_id is required");
    const d = await this.ctx.state.get<Document>(docKey(req.docId));
    return d ? { found: true, document: d.value } : { found: false };
  }

  async DeleteDocument(req: DeleteDocumentRequest): Promise<DeleteDocumentResponse> {
    if (!req.docId) throw badRequest("doc_id is required");
    for (;;) {
      const cur = await this.ctx.state.get<Document>(docKey(req.docId));
      if (!cur) return { deleted: false };
      try {
        await this.ctx.state.delete(docKey(req.docId), cur.revision);
      } catch (err) {
        if (err instanceof RevisionConflict) continue; // replaced meanwhile: delete what is there now
        throw err;
      }
      await this.changed((idx) => idx.remove(req.docId));
      await this.publish("DocumentDeletedEvent", { docId: req.docId, at: new Date().toISOString() });
      return { deleted: true };
    }
  }

  async ListDocuments(req: ListDocumentsRequest): Promise<ListDocumentsResponse> {
    const idx = await this.current();
    const tag = req.tag.trim().toLowerCase();
    const pageSize = Math.min(req.page?.pageSize || PAGE_DEFAULT, PAGE_MAX);
    const after = req.page?.pageToken ? Buffer.from(req.page.pageToken, "base64url").toString() : "";
    const all = [...idx.docs.values()]
      .filter((d) => !tag || d.tags.includes(tag))
      .sort((a, b) => (a.docId < b.docId ? -1 : 1));
    const rest = after ? all.filter((d) => d.docId > after) : all;
    const page = rest.slice(0, pageSize);
    const more = rest.length > pageSize;
    return {
      documents: page.map(this.summary),
      page: {
        nextPageToken: more ? Buffer.from(page[page.length - 1]!.docId).toString("base64url") : "",
        total: all.length,
      },
    };
  }

  async Search(req: SearchRequest): Promise<SearchResponse> {
    if (!req.query.trim()) throw badRequest("query is required");
    if (req.query.length > 1000) throw badRequest("query must be at most 1000 characters");
    const limit = Math.min(req.limit || 10, this.maxLimit);
    const tags = normalizeTags(req.tags);
    const terms = [...new Set(tokenize(req.query))];
    const idx = await this.current();
    const accept = (id: string) => tags.every((t) => idx.docs.get(id)!.tags.includes(t));
    const ranked = terms.length ? idx.index.search(terms, accept) : [];
    const hits: SearchHit[] = ranked.slice(0, limit).map((r) => {
      const d = idx.docs.get(r.docId)!;
      const matched = new Set(r.matched);
      const inBody = tokenize(d.body).some((t) => matched.has(t));
      return {
        docId: d.docId,
        title: d.title,
        score: Math.round(r.score * 1e6) / 1e6,
        snippet: snippet(inBody || !d.title ? d.body : d.title, matched),
        matchedTerms: terms.filter((t) => matched.has(t)),
      };
    });
    return { hits, totalMatches: ranked.length, queryTerms: terms };
  }

  private exclusive<R>(fn: () => Promise<R>): Promise<R> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** Build the index from the stored documents (before the first request is served). */
  async load(): Promise<this> {
    await this.exclusive(async () => this.rebuild(await this.storedVersion()));
    return this;
  }

  private async rebuild(version: number): Promise<void> {
    const next = new LocalIndex();
    const keys = await this.ctx.state.keys("doc");
    for (let i = 0; i < keys.length; i += 64) {
      const batch = await Promise.all(keys.slice(i, i + 64).map((k) => this.ctx.state.get<Document>(k)));
      for (const d of batch) if (d) next.put(d.value);
    }
    next.version = version; // read before the documents: a change during the rebuild moves it again
    this.local = next;
    this.ctx.log.info("index rebuilt", { version, documents: next.docs.size });
  }

  /** The local index, rebuilt first when another instance changed the documents. */
  private async current(): Promise<LocalIndex> {
    const v = await this.storedVersion();
    if (v !== this.local.version) {
      await this.exclusive(async () => {
        const again = await this.storedVersion();
        if (again !== this.local.version) await this.rebuild(again);
      });
    }
    return this.local;
  }

  /** After a document write: bump meta.version and apply the change here if no other change came in between. */
  private async changed(apply: (idx: LocalIndex) => void): Promise<void> {
    await this.exclusive(async () => {
      const { value } = await this.ctx.state.update<Meta>(META, (m) => ({ version: (m?.version ?? 0) + 1 }));
      apply(this.local);
      if (value.version === this.local.version + 1) this.local.version = value.version;
    });
  }
}

export default defineService({
  name: "knowledge-base",
  description: "Lore documents with BM25 full-text search",
  start: (ctx) => new KnowledgeBase(ctx).load(),
});
