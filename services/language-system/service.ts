// language-system: message catalogs per locale, plural forms, {name} interpolation and fallback chains.
// Env: LANGUAGE_DEFAULT_LOCALE (default "en"): the final fallback of every chain and the locale of
//      requests that name none.
// State: `catalog.<locale>` -> CatalogDoc, `fallback.<locale>` -> { fallbacks } (configured chains).
// Events: CatalogUpdatedEvent, FallbackChainUpdatedEvent, TranslationMissingEvent.
import { badRequest } from "../sdk/errors.js";
import { defineService, type ServiceContext } from "../sdk/runtime.js";
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

// ---------- proto types (language_system.v1) ----------
type PluralCategory = `PLURAL_CATEGORY_${"UNSPECIFIED" | "ZERO" | "ONE" | "TWO" | "FEW" | "MANY" | "OTHER"}`;
interface CatalogEntry {
  key: string;
  text: string;
  pluralForms: Record<string, string>;
  description: string;
}
interface LocaleInfo {
  locale: string;
  keyCount: number;
  fallbackChain: string[];
  pluralRule: string;
  revision: number;
  updatedAt?: string;
}
interface PutCatalogRequest {
  locale: string;
  entries: CatalogEntry[];
  replace: boolean;
}
interface PutCatalogResponse {
  locale: LocaleInfo;
  added: number;
  updated: number;
  removed: number;
}
interface GetCatalogRequest {
  locale: string;
  keyPrefix: string;
}
interface GetCatalogResponse {
  found: boolean;
  locale?: LocaleInfo;
  entries: CatalogEntry[];
}
interface TranslateRequest {
  key: string;
  locale: string;
  /** always present today: the SDK codec emits proto3 `optional` scalars at their default when unset */
  count?: number;
  params: Record<string, string>;
  lenient: boolean;
}
interface TranslateResponse {
  text: string;
  resolvedLocale: string;
  fallbackUsed: boolean;
  missing: boolean;
  pluralCategory?: PluralCategory;
  missingParams: string[];
}
interface ListLocalesResponse {
  locales: LocaleInfo[];
  defaultLocale: string;
}
interface GetPluralCategoryRequest {
  locale: string;
  count: number;
}
interface GetPluralCategoryResponse {
  category: PluralCategory;
  pluralRule: string;
}
interface SetFallbackChainRequest {
  locale: string;
  fallbacks: string[];
}
interface FallbackChainResponse {
  fallbackChain: string[];
}

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

export default defineService({
  name: "language-system",
  description: "Localisation: message catalogs per locale, plural rules, interpolation and fallback chains",
  start(ctx: ServiceContext) {
    const defaultLocale = normalizeLocale(ctx.env.LANGUAGE_DEFAULT_LOCALE || "en");

    const loadCatalog = async (loc: string) => (await ctx.state.get<CatalogDoc>(`catalog.${loc}`))?.value;
    const chainOf = async (loc: string): Promise<string[]> => {
      const configured = (await ctx.state.get<FallbackDoc>(`fallback.${loc}`))?.value.fallbacks;
      return fallbackChain(loc, configured, defaultLocale);
    };
    const info = async (doc: CatalogDoc): Promise<LocaleInfo> => ({
      locale: doc.locale,
      keyCount: Object.keys(doc.entries).length,
      fallbackChain: await chainOf(doc.locale),
      pluralRule: pluralRuleName(doc.locale),
      revision: doc.revision,
      updatedAt: doc.updatedAt,
    });

    return {
      async PutCatalog(req: PutCatalogRequest): Promise<PutCatalogResponse> {
        const loc = locale(req.locale);
        if (req.entries.length > MAX_ENTRIES_PER_PUT)
          throw badRequest(`at most ${MAX_ENTRIES_PER_PUT} entries per call`);
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
        const saved = await ctx.state.update<CatalogDoc>(`catalog.${loc}`, (cur) => {
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
        await ctx.events.publish("CatalogUpdatedEvent", {
          locale: loc,
          revision: doc.revision,
          ...counts,
          at: doc.updatedAt,
        });
        return { locale: await info(doc), ...counts };
      },

      async GetCatalog(req: GetCatalogRequest): Promise<GetCatalogResponse> {
        const doc = await loadCatalog(locale(req.locale));
        if (!doc) return { found: false, entries: [] };
        const entries = Object.entries(doc.entries)
          .filter(([k]) => !req.keyPrefix || k.startsWith(req.keyPrefix))
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([key, e]) => ({ key, ...e }));
        return { found: true, locale: await info(doc), entries };
      },

      async Translate(req: TranslateRequest): Promise<TranslateResponse> {
        checkKey(req.key, "key");
        const requested = req.locale ? locale(req.locale) : defaultLocale;
        if (req.count !== undefined && !Number.isFinite(req.count)) throw badRequest("count must be a finite number");
        if (Object.keys(req.params).length > 100) throw badRequest("at most 100 params");
        const chain = await chainOf(requested);
        for (const loc of chain) {
          const entry = (await loadCatalog(loc))?.entries[req.key];
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
            pluralCategory: out.category && categoryEnum(out.category),
            missingParams: out.missing,
          };
        }
        await ctx.events
          .publish("TranslationMissingEvent", { key: req.key, locale: requested })
          .catch((err: unknown) => {
            ctx.log.warn("cannot publish TranslationMissingEvent", { err });
          });
        return {
          text: req.key,
          resolvedLocale: "",
          fallbackUsed: true,
          missing: true,
          pluralCategory: req.count === undefined ? undefined : categoryEnum(pluralCategory(requested, req.count)),
          missingParams: [],
        };
      },

      async ListLocales(): Promise<ListLocalesResponse> {
        const locales: LocaleInfo[] = [];
        for (const key of await ctx.state.keys("catalog")) {
          const doc = (await ctx.state.get<CatalogDoc>(key))?.value;
          if (doc) locales.push(await info(doc));
        }
        return { locales: locales.sort((a, b) => a.locale.localeCompare(b.locale)), defaultLocale };
      },

      async GetPluralCategory(req: GetPluralCategoryRequest): Promise<GetPluralCategoryResponse> {
        const loc = locale(req.locale);
        if (!Number.isFinite(req.count)) throw badRequest("count must be a finite number");
        return { category: categoryEnum(pluralCategory(loc, req.count)), pluralRule: pluralRuleName(loc) };
      },

      // An empty fallbacks list removes the configured chain: the locale falls back to its parents again.
      async SetFallbackChain(req: SetFallbackChainRequest): Promise<FallbackChainResponse> {
        const loc = locale(req.locale);
        if (req.fallbacks.length > MAX_FALLBACKS) throw badRequest(`at most ${MAX_FALLBACKS} fallbacks`);
        const fallbacks = [...new Set(req.fallbacks.map((f, i) => locale(f, `fallbacks[${i}]`)))].filter(
          (f) => f !== loc,
        );
        if (fallbacks.length) await ctx.state.put<FallbackDoc>(`fallback.${loc}`, { fallbacks });
        else if (await ctx.state.get(`fallback.${loc}`)) await ctx.state.delete(`fallback.${loc}`);
        const chain = fallbackChain(loc, fallbacks, defaultLocale);
        await ctx.events.publish("FallbackChainUpdatedEvent", { locale: loc, fallbackChain: chain });
        return { fallbackChain: chain };
      },

      async GetFallbackChain(req: { locale: string }): Promise<FallbackChainResponse> {
        return { fallbackChain: await chainOf(locale(req.locale)) };
      },
    };
  },
});
