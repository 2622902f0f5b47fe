// language-system: message catalogs per locale, plural forms, {name} interpolation and fallback chains.
// Env: LANGUAGE_DEFAULT_LOCALE (default "en"): the final fallback of every chain and the locale of
//      requests that name none.
// State: `catalog.<locale>` -> CatalogDoc, `fallback.<locale>` -> { fallbacks } (configured chains).
// Events: CatalogUpdatedEvent, FallbackChainUpdatedEvent, TranslationMissingEvent.
import { badRequest } from "../sdk/errors.js";
import { defineService, ServiceBase, type RpcHandlers } from "../sdk/runtime.js";
import {
  checkEntry,
  fallbackChain,
  LocaleError,
  MessageArgumentError,
  normalizeLocale,
  pluralCategory,
  pluralRuleName,
  renderEntry,
  type PluralCategoryName,
} from "./domain.js";
import type {
  GetCatalogRequest,
  GetCatalogResponse,
  GetFallbackChainRequest,
  GetFallbackChainResponse,
  GetPluralCategoryRequest,
  GetPluralCategoryResponse,
  LanguageSystemServiceRpcs,
  ListLocalesRequest,
  ListLocalesResponse,
  LocaleInfo,
  PluralCategory,
  PutCatalogRequest,
  PutCatalogResponse,
  SetFallbackChainRequest,
  SetFallbackChainResponse,
  TranslateRequest,
  TranslateResponse,
} from "../generated/language_system/v1/language_system.js";

// ---------- state ----------
interface StoredEntry {
  text: string;
  pluralForms: Record<string, string>;
  description: string;
}
interface CatalogDoc {
  locale: string;
  entries: Record<string, StoredEntry>;
  revision: number;
  updatedAt: string;
}
interface FallbackDoc {
  fallbacks: string[];
}

const KEY_RE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const MAX_KEY = 200;
const MAX_TEXT = 4000;
const MAX_ENTRIES_PER_PUT = 2000;
const MAX_CATALOG_KEYS = 10_000;
const MAX_FALLBACKS = 10;

const categoryEnum = (c: PluralCategoryName): PluralCategory => `PLURAL_CATEGORY_${c.toUpperCase()}` as PluralCategory;

function locale(tag: string, field = "locale"): string {
  try {
    return normalizeLocale(tag);
  } catch (err) {
    if (err instanceof LocaleError) throw badRequest(`${field}: ${err.message}`);
    throw err;
  }
}

function checkKey(key: string, field: string): void {
  if (!key) throw badRequest(`${field} is required`);
  if (key.length > MAX_KEY) throw badRequest(`${field} is longer than ${MAX_KEY} characters`);
  if (!KEY_RE.test(key)) throw badRequest(`${field} "${key}" must be dot-separated tokens of letters, digits, _ and -`);
}

class LanguageSystem extends ServiceBase implements RpcHandlers<LanguageSystemServiceRpcs> {
  private readonly defaultLocale = normalizeLocale(this.ctx.env.LANGUAGE_DEFAULT_LOCALE || "en");
  private readonly loadCatalog = async (loc: string) => (await this.ctx.state.get<CatalogDoc>(`catalog.${loc}`))?.value;
  private readonly info = async (doc: CatalogDoc): Promise<LocaleInfo> => ({
    locale: doc.locale,
    keyCount: Object.keys(doc.entries).length,
    fallbackChain: await this.chainOf(doc.locale),
    pluralRule: pluralRuleName(doc.locale),
    revision: doc.revision,
    updatedAt: doc.updatedAt,
  });

  async PutCatalog(req: PutCatalogRequest): Promise<PutCatalogResponse> {
    const loc = locale(req.locale);
    if (req.entries.length > MAX_ENTRIES_PER_PUT) throw badRequest(`at most ${MAX_ENTRIES_PER_PUT} entries per call`);
    if (req.entries.length === 0 && !req.replace)
      throw badRequest("entries is empty (use replace=true to clear a catalog)");
    const incoming: Record<string, StoredEntry> = {};
    req.entries.forEach((e, i) => {
      checkKey(e.key, `entries[${i}].key`);
      if (incoming[e.key]) throw badRequest(`entries[${i}].key "${e.key}" appears twice`);
      const texts = [e.text, ...Object.values(e.pluralForms)];
      if (texts.some((t) => t.length > MAX_TEXT))
        throw badRequest(`entries[${i}] (${e.key}): texts are limited to ${MAX_TEXT} characters`);
      if (e.description.length > MAX_TEXT)
        throw badRequest(`entries[${i}] (${e.key}): description is limited to ${MAX_TEXT} characters`);
      const problems = checkEntry({ text: e.text, pluralForms: e.pluralForms });
      if (problems.length) throw badRequest(`entries[${i}] (${e.key}): ${problems.join("; ")}`);
      incoming[e.key] = { text: e.text, pluralForms: e.pluralForms, description: e.description };
    });

    let counts = { added: 0, updated: 0, removed: 0 };
    const saved = await this.ctx.state.update<CatalogDoc>(`catalog.${loc}`, (cur) => {
      const before = cur?.entries ?? {};
      const entries = req.replace ? { ...incoming } : { ...before, ...incoming };
      counts = { added: 0, updated: 0, removed: 0 };
      for (const [k, v] of Object.entries(incoming)) {
        if (!before[k]) counts.added++;
        else if (JSON.stringify(before[k]) !== JSON.stringify(v)) counts.updated++;
      }
      if (req.replace) counts.removed = Object.keys(before).filter((k) => !incoming[k]).length;
      if (Object.keys(entries).length > MAX_CATALOG_KEYS)
        throw badRequest(`a catalog holds at most ${MAX_CATALOG_KEYS} keys`);
      return { locale: loc, entries, revision: (cur?.revision ?? 0) + 1, updatedAt: new Date().toISOString() };
    });
    const doc = saved.value;
    await this.ctx.events.publish("CatalogUpdatedEvent", {
      locale: loc,
      revision: doc.revision,
      ...counts,
      at: doc.updatedAt,
    });
    return { locale: await this.info(doc), ...counts };
  }

  async GetCatalog(req: GetCatalogRequest): Promise<GetCatalogResponse> {
    const doc = await this.loadCatalog(locale(req.locale));
    if (!doc) return { found: false, entries: [] };
    const entries = Object.entries(doc.entries)
      .filter(([k]) => !req.keyPrefix || k.startsWith(req.keyPrefix))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, e]) => ({ key, ...e }));
    return { found: true, locale: await this.info(doc), entries };
  }

  async Translate(req: TranslateRequest): Promise<TranslateResponse> {
    checkKey(req.key, "key");
    const requested = req.locale ? locale(req.locale) : this.defaultLocale;
    if (req.count !== undefined && !Number.isFinite(req.count)) throw badRequest("count must be a finite number");
    if (Object.keys(req.params).length > 100) throw badRequest("at most 100 params");
    const chain = await this.chainOf(requested);
    for (const loc of chain) {
      const entry = (await this.loadCatalog(loc))?.entries[req.key];
      if (!entry) continue;
      let out;
      try {
        out = renderEntry(entry, { locale: loc, params: req.params, count: req.count });
      } catch (err) {
        if (err instanceof MessageArgumentError) throw badRequest(`${req.key} (${loc}): ${err.message}`);
        throw err;
      }
      if (out.missing.length && !req.lenient) {
        throw badRequest(
          `${req.key} (${loc}) needs params: ${out.missing.join(", ")} (or set lenient to leave them as-is)`,
        );
      }
      return {
        text: out.text,
        resolvedLocale: loc,
        fallbackUsed: loc !== requested,
        missing: false,
        pluralCategory: out.category ? categoryEnum(out.category) : "PLURAL_CATEGORY_UNSPECIFIED",
        missingParams: out.missing,
      };
    }
    await this.ctx.events
      .publish("TranslationMissingEvent", { key: req.key, locale: requested })
      .catch((err: unknown) => {
        this.ctx.log.warn("cannot publish TranslationMissingEvent", { err });
      });
    return {
      text: req.key,
      resolvedLocale: "",
      fallbackUsed: true,
      missing: true,
      pluralCategory:
        req.count === undefined ? "PLURAL_CATEGORY_UNSPECIFIED" : categoryEnum(pluralCategory(requested, req.count)),
      missingParams: [],
    };
  }

  async ListLocales(_req: ListLocalesRequest): Promise<ListLocalesResponse> {
    const locales: LocaleInfo[] = [];
    for (const key of await this.ctx.state.keys("catalog")) {
      const doc = (await this.ctx.state.get<CatalogDoc>(key))?.value;
      if (doc) locales.push(await this.info(doc));
    }
    return { locales: locales.sort((a, b) => a.locale.localeCompare(b.locale)), defaultLocale: this.defaultLocale };
  }

  async GetPluralCategory(req: GetPluralCategoryRequest): Promise<GetPluralCategoryResponse> {
    const loc = locale(req.locale);
    if (!Number.isFinite(req.count)) throw badRequest("count must be a finite number");
    return { category: categoryEnum(pluralCategory(loc, req.count)), pluralRule: pluralRuleName(loc) };
  }

  // An empty fallbacks list removes the configured chain: the locale falls back to its parents again.
  async SetFallbackChain(req: SetFallbackChainRequest): Promise<SetFallbackChainResponse> {
    const loc = locale(req.locale);
    if (req.fallbacks.length > MAX_FALLBACKS) throw badRequest(`at most ${MAX_FALLBACKS} fallbacks`);
    const fallbacks = [...new Set(req.fallbacks.map((f, i) => locale(f, `fallbacks[${i}]`)))].filter((f) => f !== loc);
    if (fallbacks.length) await this.ctx.state.put<FallbackDoc>(`fallback.${loc}`, { fallbacks });
    else if (await this.ctx.state.get(`fallback.${loc}`)) await this.ctx.state.delete(`fallback.${loc}`);
    const chain = fallbackChain(loc, fallbacks, this.defaultLocale);
    await this.ctx.events.publish("FallbackChainUpdatedEvent", { locale: loc, fallbackChain: chain });
    return { fallbackChain: chain };
  }

  async GetFallbackChain(req: GetFallbackChainRequest): Promise<GetFallbackChainResponse> {
    return { fallbackChain: await this.chainOf(locale(req.locale)) };
  }

  private async chainOf(loc: string): Promise<string[]> {
    const configured = (await this.ctx.state.get<FallbackDoc>(`fallback.${loc}`))?.value.fallbacks;
    return fallbackChain(loc, configured, this.defaultLocale);
  }
}

export default defineService({
  name: "language-system",
  description: "Localisation: message catalogs per locale, plural rules, interpolation and fallback chains",
  start: (ctx) => new LanguageSystem(ctx),
});
