// Knowledge-base domain: tokenizer, an in-memory BM25 index, and snippets. Pure code, no NATS.

export const K1 = 1.2;
export const B = 0.75;

export const STOP_WORDS: ReadonlySet<string> = new Set(
  "a an and are as at be but by for from has have he her his i if in into is it its not of on or she so such that the their them then there these they this to was were will with you your".split(
    " ",
  ),
);

// a word: letters/digits, with inner apostrophes ("dragon's", "don't") kept as part of it
const WORD_RE = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu;

function normalize(word: string): string {
  return word.toLowerCase().replace(/['’]/g, "");
}

/** Index and query terms: lowercased, punctuation stripped, stop words dropped. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(WORD_RE)) {
    const t = normalize(m[0]);
    if (!STOP_WORDS.has(t)) out.push(t);
  }
  return out;
}

interface Span {
  term: string;
  start: number;
  end: number;
}

function spans(text: string): Span[] {
  return [...text.matchAll(WORD_RE)].map((m) => ({
    term: normalize(m[0]),
    start: m.index,
    end: m.index + m[0].length,
  }));
}

export interface Scored {
  docId: string;
  score: number;
  matched: string[];
}

/** BM25 over one field; documents are added as their term lists. */
export class Bm25Index {
  private readonly postings = new Map<string, Map<string, number>>();
  private readonly docTerms = new Map<string, Map<string, number>>();
  private readonly lengths = new Map<string, number>();
  private totalLength = 0;

  get size(): number {
    return this.lengths.size;
  }

  add(docId: string, terms: string[]): void {
    this.remove(docId);
    const tf = new Map<string, number>();
    for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1);
    for (const [t, n] of tf) {
      let p = this.postings.get(t);
      if (!p) this.postings.set(t, (p = new Map()));
      p.set(docId, n);
    }
    this.docTerms.set(docId, tf);
    this.lengths.set(docId, terms.length);
    this.totalLength += terms.length;
  }

  remove(docId: string): void {
    const tf = this.docTerms.get(docId);
    if (!tf) return;
    for (const t of tf.keys()) {
      const p = this.postings.get(t)!;
      p.delete(docId);
      if (p.size === 0) this.postings.delete(t);
    }
    this.totalLength -= this.lengths.get(docId)!;
    this.docTerms.delete(docId);
    this.lengths.delete(docId);
  }

  /** Lucene's non-negative idf: ln(1 + (N - n + 0.5) / (n + 0.5)). */
  idf(term: string): number {
    const n = this.postings.get(term)?.size ?? 0;
    return Math.log(1 + (this.size - n + 0.5) / (n + 0.5));
  }

  /** Every document matching at least one term that passes `accept`, best first (ties by id). */
  search(terms: string[], accept: (docId: string) => boolean = () => true): Scored[] {
    const avgdl = this.size ? this.totalLength / this.size : 0;
    const hits = new Map<string, Scored>();
    for (const term of new Set(terms)) {
      const p = this.postings.get(term);
      if (!p) continue;
      const idf = this.idf(term);
      for (const [docId, tf] of p) {
        if (!accept(docId)) continue;
        const len = this.lengths.get(docId)!;
        const s = (idf * tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * len) / (avgdl || 1)));
        const hit = hits.get(docId) ?? { docId, score: 0, matched: [] };
        hit.score += s;
        hit.matched.push(term);
        hits.set(docId, hit);
      }
    }
    return [...hits.values()].sort((a, b) => b.score - a.score || (a.docId < b.docId ? -1 : a.docId > b.docId ? 1 : 0));
  }
}

/**
 * An excerpt of `text` of about `words` words around the densest cluster of query terms (most distinct
 * terms, then most occurrences), terms wrapped in ** **, "…" where the text was cut.
 */
export function snippet(text: string, terms: ReadonlySet<string>, words = 24): string {
  const sp = spans(text);
  if (sp.length === 0) return "";
  let best = 0;
  let bestKey = [-1, -1];
  for (let i = 0; i < sp.length; i++) {
    if (!terms.has(sp[i]!.term)) continue;
    const window = sp.slice(i, i + words).filter((s) => terms.has(s.term));
    const key = [new Set(window.map((s) => s.term)).size, window.length];
    if (key[0]! > bestKey[0]! || (key[0] === bestKey[0] && key[1]! > bestKey[1]!)) {
      bestKey = key;
      best = i;
    }
  }
  // a little lead-in before the first match, unless that pushes matches out of the window
  const start = bestKey[0]! < 0 ? 0 : Math.max(0, Math.min(best - 3, sp.length - words));
  const end = Math.min(sp.length, start + words);
  let out = "";
  let pos = sp[start]!.start;
  for (let i = start; i < end; i++) {
    const s = sp[i]!;
    out += text.slice(pos, s.start);
    const word = text.slice(s.start, s.end);
    out += terms.has(s.term) ? `**${word}**` : word;
    pos = s.end;
  }
  // keep closing punctuation right after the last word ("… the Ember Gate.")
  const tail = /^[^\s\p{L}\p{N}]*/u.exec(text.slice(pos))![0];
  out = (out + tail).replace(/\s+/g, " ").trim();
  return `${start > 0 ? "… " : ""}${out}${end < sp.length ? " …" : ""}`;
}
