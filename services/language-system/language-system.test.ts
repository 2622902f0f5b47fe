import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jetstreamManager } from "@nats-io/jetstream";
import { startHarness, type Harness } from "../test-support/harness.js";
import { decodeToJson } from "../sdk/json-codec.js";
import { defaultRegistry } from "../sdk/runtime.js";
import {
  checkEntry,
  fallbackChain,
  formatMessage,
  normalizeLocale,
  parentLocales,
  parseMessage,
  pluralCategory,
  pluralRuleName,
  renderEntry,
} from "./domain.js";
import service from "./service.js";

describe("language-system domain", () => {
  it("normalises locale tags and rejects garbage", () => {
    expect(normalizeLocale("de-at")).toBe("de-AT");
    expect(normalizeLocale("zh-hant-tw-u-ca-chinese")).toBe("zh-Hant-TW");
    expect(() => normalizeLocale("not a locale!")).toThrow(/invalid locale/);
  });

  it("derives fallback chains from the locale's parents, then the default", () => {
    expect(parentLocales("zh-Hant-TW")).toEqual(["zh-Hant", "zh"]);
    expect(fallbackChain("de-AT", undefined, "en")).toEqual(["de-AT", "de", "en"]);
    expect(fallbackChain("en-GB", undefined, "en")).toEqual(["en-GB", "en"]);
    expect(fallbackChain("pt-BR", ["pt-PT", "es"], "en")).toEqual(["pt-BR", "pt-PT", "es", "en"]);
  });

  it("chooses CLDR plural categories per locale", () => {
    expect(pluralCategory("en", 1)).toBe("one");
    expect(pluralCategory("en", 2)).toBe("other");
    expect([1, 3, 5, 21].map((n) => pluralCategory("ru", n))).toEqual(["one", "few", "many", "one"]);
    expect(pluralCategory("ar", 0)).toBe("zero");
    expect(pluralCategory("ja", 1)).toBe("other");
    expect(pluralRuleName("de-AT")).toBe("de");
    expect(pluralRuleName("ru")).toBe("ru");
  });

  it("prefers an exact =N form over the category, then falls back to other and text", () => {
    const entry = { text: "Items", pluralForms: { "=0": "No items", one: "# item", other: "# items" } };
    expect(renderEntry(entry, { locale: "en", params: {}, count: 0 }).text).toBe("No items");
    expect(renderEntry(entry, { locale: "en", params: {}, count: 1 }).text).toBe("1 item");
    expect(renderEntry(entry, { locale: "en", params: {}, count: 1234 }).text).toBe("1,234 items");
    expect(renderEntry(entry, { locale: "en", params: {} }).text).toBe("Items");
    const ru = {
      text: "",
      pluralForms: { one: "{count} файл", few: "{count} файла", many: "{count} файлов", other: "{count} файла" },
    };
    expect(renderEntry(ru, { locale: "ru", params: {}, count: 3 })).toMatchObject({ text: "3 файла", category: "few" });
    expect(renderEntry(ru, { locale: "ru", params: {}, count: 11 }).text).toBe("11 файлов");
  });

  it("interpolates {name} params and inline plural/select arguments", () => {
    const nodes = parseMessage(
      "{who} has {n, plural, =0 {no apples} one {one apple} other {# apples}} ({g, select, f {her} other {their}} bag)",
    );
    expect(formatMessage(nodes, { locale: "en", params: { who: "Ann", n: "3", g: "f" } }).text).toBe(
      "Ann has 3 apples (her bag)",
    );
    const partial = formatMessage(nodes, { locale: "en", params: { n: "0" } });
    expect(partial.text).toBe("{who} has no apples (their bag)");
    expect(partial.missing.sort()).toEqual(["g", "who"]);
  });

  it("reports syntax problems in entries", () => {
    expect(checkEntry({ text: "Hello {name", pluralForms: {} })[0]).toMatch(/unclosed/);
    expect(checkEntry({ text: "x", pluralForms: { several: "y" } })[0]).toMatch(/not a plural category/);
    expect(checkEntry({ text: "{n, plural, one {x}}", pluralForms: {} })[0]).toMatch(/needs an "other"/);
    expect(checkEntry({ text: "", pluralForms: {} })).toEqual(["needs text or plural_forms"]);
    expect(checkEntry({ text: "Hi {name}", pluralForms: { one: "# thing", other: "# things" } })).toEqual([]);
  });
});

describe("language-system over NATS", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await h.start(service);
    await h.call("language-system.put-catalog", {
      locale: "en",
      entries: [
        { key: "greeting", text: "Hello, {name}!" },
        {
          key: "inventory.items",
          text: "Items",
          pluralForms: { "=0": "Your bag is empty", one: "# item", other: "# items" },
        },
        { key: "only.english", text: "English only" },
      ],
    });
    await h.call("language-system.put-catalog", {
      locale: "de",
      entries: [
        { key: "greeting", text: "Hallo, {name}!" },
        { key: "inventory.items", text: "Gegenstände", pluralForms: { one: "# Gegenstand", other: "# Gegenstände" } },
      ],
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("starts cleanly and translates with interpolation in the requested locale", async () => {
    const r = await h.call("language-system.translate", { key: "greeting", locale: "de", params: { name: "Eva" } });
    expect(r).toMatchObject({ text: "Hallo, Eva!", resolvedLocale: "de", fallbackUsed: false, missing: false });
  });

  it("walks the fallback chain de-AT -> de -> en", async () => {
    const chain = await h.call("language-system.get-fallback-chain", { locale: "de-at" });
    expect(chain.fallbackChain).toEqual(["de-AT", "de", "en"]);
    const viaDe = await h.call("language-system.translate", { key: "inventory.items", locale: "de-AT", count: 5 });
    expect(viaDe).toMatchObject({
      text: "5 Gegenstände",
      resolvedLocale: "de",
      fallbackUsed: true,
      pluralCategory: "PLURAL_CATEGORY_OTHER",
    });
    const viaEn = await h.call("language-system.translate", { key: "only.english", locale: "de-AT" });
    expect(viaEn).toMatchObject({ text: "English only", resolvedLocale: "en", fallbackUsed: true });
  });

  it("uses exact =0 forms before the plural category", async () => {
    const r = await h.call("language-system.translate", { key: "inventory.items", locale: "en", count: 0 });
    expect(r.text).toBe("Your bag is empty");
    expect((await h.call("language-system.translate", { key: "inventory.items", locale: "en", count: 1 })).text).toBe(
      "1 item",
    );
  });

  it("answers 400 when a placeholder has no param, unless the request is lenient", async () => {
    const err = await h.fail("language-system.translate", { key: "greeting", locale: "en" });
    expect(err.code).toBe(400);
    expect(err.message).toMatch(/needs params: name/);
    const lenient = await h.call("language-system.translate", { key: "greeting", locale: "en", lenient: true });
    expect(lenient).toMatchObject({ text: "Hello, {name}!", missingParams: ["name"] });
  });

  it("returns the key and publishes TranslationMissingEvent when no locale has it", async () => {
    const r = await h.call("language-system.translate", { key: "no.such.key", locale: "fr" });
    expect(r).toMatchObject({ text: "no.such.key", missing: true, fallbackUsed: true });
    const jsm = await jetstreamManager(h.nc);
    const msg = await jsm.streams.getMessage("EVENTS", { last_by_subj: "events.language-system.translation-missing" });
    const registry = defaultRegistry();
    const ev = decodeToJson(registry.event("events.language-system.translation-missing")!.type, msg!.data);
    expect(ev).toEqual({ key: "no.such.key", locale: "fr" });
  });

  it("honours a configured fallback chain", async () => {
    const set = await h.call("language-system.set-fallback-chain", { locale: "de-CH", fallbacks: ["de-AT", "de"] });
    expect(set.fallbackChain).toEqual(["de-CH", "de-AT", "de", "en"]);
    expect((await h.call("language-system.get-fallback-chain", { locale: "de-CH" })).fallbackChain).toEqual([
      "de-CH",
      "de-AT",
      "de",
      "en",
    ]);
    await h.call("language-system.set-fallback-chain", { locale: "de-CH", fallbacks: [] });
    expect((await h.call("language-system.get-fallback-chain", { locale: "de-CH" })).fallbackChain).toEqual([
      "de-CH",
      "de",
      "en",
    ]);
  });

  it("merges or replaces catalogs and counts the changes", async () => {
    const merged = await h.call<{
      added: number;
      updated: number;
      removed: number;
      locale: { keyCount: number; revision: number };
    }>("language-system.put-catalog", {
      locale: "fr",
      entries: [
        { key: "a", text: "A" },
        { key: "b", text: "B" },
      ],
    });
    expect(merged).toMatchObject({ added: 2, updated: 0, removed: 0, locale: { keyCount: 2, revision: 1 } });
    const replaced = await h.call("language-system.put-catalog", {
      locale: "fr",
      replace: true,
      entries: [{ key: "a", text: "AA" }],
    });
    expect(replaced).toMatchObject({ added: 0, updated: 1, removed: 1, locale: { keyCount: 1, revision: 2 } });
    const cat = await h.call("language-system.get-catalog", { locale: "fr" });
    expect(cat.entries).toEqual([{ key: "a", text: "AA", pluralForms: {}, description: "" }]);
    const list = await h.call<{ locales: { locale: string }[]; defaultLocale: string }>(
      "language-system.list-locales",
      {},
    );
    expect(list.locales.map((l) => l.locale)).toEqual(["de", "en", "fr"]);
    expect(list.defaultLocale).toBe("en");
  });

  it("rejects broken messages, bad locales and bad plural selectors with 400", async () => {
    expect(
      (await h.fail("language-system.put-catalog", { locale: "en", entries: [{ key: "x", text: "Hi {name" }] })).code,
    ).toBe(400);
    expect(
      (
        await h.fail("language-system.put-catalog", {
          locale: "en",
          entries: [{ key: "x", pluralForms: { lots: "x" } }],
        })
      ).code,
    ).toBe(400);
    expect(
      (await h.fail("language-system.put-catalog", { locale: "??", entries: [{ key: "x", text: "x" }] })).code,
    ).toBe(400);
    expect((await h.fail("language-system.translate", { key: "", locale: "en" })).message).toMatch(/key is required/);
  });

  it("answers the plural category of a number", async () => {
    expect(await h.call("language-system.get-plural-category", { locale: "ru", count: 4 })).toEqual({
      category: "PLURAL_CATEGORY_FEW",
      pluralRule: "ru",
    });
  });
});
