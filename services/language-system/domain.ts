// Localisation domain: locale tags and their fallback chains, CLDR plural categories (Intl.PluralRules)
// and an ICU-ish message format: `{name}` arguments, `{n, plural, =0 {…} one {# item} other {# items}}`
// and `{g, select, female {…} other {…}}`, with `#` standing for the plural number.

export const PLURAL_CATEGORIES = ["zero", "one", "two", "few", "many", "other"] as const;
export type PluralCategoryName = (typeof PLURAL_CATEGORIES)[number];

/** A locale tag that is not valid BCP 47. */
export class LocaleError extends Error {}
/** A message whose syntax is broken (unbalanced braces, missing `other`...). */
export class MessageSyntaxError extends Error {}
/** A message argument whose value does not fit (e.g. a plural argument that is not a number). */
export class MessageArgumentError extends Error {}

/** Canonical base tag (`de-at` -> `de-AT`, extensions dropped). Throws LocaleError. */
export function normalizeLocale(tag: string): string {
  const trimmed = tag.trim();
  if (!trimmed || trimmed.length > 35)
    throw new LocaleError(`invalid locale "${tag}": expected a BCP 47 tag like "de-AT"`);
  try {
    return new Intl.Locale(Intl.getCanonicalLocales(trimmed)[0]!).baseName;
  } catch {
    throw new LocaleError(`invalid locale "${tag}": expected a BCP 47 tag like "de-AT"`);
  }
}

/** Parents of a locale, nearest first: `zh-Hant-TW` -> [`zh-Hant`, `zh`]. */
export function parentLocales(locale: string): string[] {
  const parts = locale.split("-");
  const out: string[] = [];
  for (let n = parts.length - 1; n >= 1; n--) out.push(parts.slice(0, n).join("-"));
  return out;
}

/**
 * The effective chain of a locale, the locale itself first and `defaultLocale` last: configured
 * fallbacks when there are some, else the locale's parents (`de-AT` -> `de` -> `en`).
 */
export function fallbackChain(locale: string, configured: string[] | undefined, defaultLocale: string): string[] {
  const chain = [locale, ...(configured && configured.length ? configured : parentLocales(locale)), defaultLocale];
  return [...new Set(chain)];
}

// bounded: locale tags come from requests, and every well-formed tag is a new key
const RULES_CACHE_MAX = 256;
const rulesCache = new Map<string, Intl.PluralRules>();
function rules(locale: string): Intl.PluralRules {
  let r = rulesCache.get(locale);
  if (!r) {
    if (rulesCache.size >= RULES_CACHE_MAX) rulesCache.delete(rulesCache.keys().next().value!);
    rulesCache.set(locale, (r = new Intl.PluralRules(locale)));
  }
  return r;
}

export function pluralCategory(locale: string, count: number): PluralCategoryName {
  return rules(locale).select(count) as PluralCategoryName;
}

const SAMPLES = [0, 1, 2, 3, 5, 11, 21, 22, 100, 101, 1000000, 0.5, 1.5];
/** Name of the CLDR rule set applied to a locale: its language, unless a regional set differs (`pt-PT`). */
export function pluralRuleName(locale: string): string {
  const resolved = rules(locale).resolvedOptions().locale;
  const base = new Intl.Locale(resolved);
  const language = base.language;
  if (base.baseName === language) return language;
  const differs = SAMPLES.some((n) => rules(language).select(n) !== rules(base.baseName).select(n));
  return differs ? base.baseName : language;
}

// ---------- messages ----------

export type MsgNode =
  | { kind: "text"; value: string }
  | { kind: "arg"; name: string }
  | { kind: "pound" }
  | { kind: "plural" | "select"; name: string; options: Record<string, MsgNode[]> };

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*/;
const PLURAL_SELECTOR = /^(=-?\d+(?:\.\d+)?|zero|one|two|few|many|other)$/;

/** Parse a message; `inPlural` makes `#` the plural number (for plural_forms texts). Throws MessageSyntaxError. */
export function parseMessage(src: string, inPlural = false): MsgNode[] {
  let i = 0;
  const fail = (what: string): never => {
    throw new MessageSyntaxError(`${what} at offset ${i} in "${src.length > 60 ? src.slice(0, 60) + "…" : src}"`);
  };
  const skipWs = () => {
    while (i < src.length && /\s/.test(src[i]!)) i++;
  };
  const word = (re: RegExp, what: string): string => {
    skipWs();
    const m = re.exec(src.slice(i));
    if (!m) return fail(`expected ${what}`);
    i += m[0].length;
    skipWs();
    return m[0];
  };
  const nodes = (pound: boolean, nested: boolean): MsgNode[] => {
    const out: MsgNode[] = [];
    let buf = "";
    const flush = () => {
      if (buf) out.push({ kind: "text", value: buf });
      buf = "";
    };
    while (i < src.length) {
      const c = src[i]!;
      if (c === "}") {
        if (!nested) fail("unmatched }");
        break;
      }
      if (c === "{") {
        flush();
        i++;
        out.push(argument(pound));
      } else if (c === "#" && pound) {
        flush();
        out.push({ kind: "pound" });
        i++;
      } else {
        buf += c;
        i++;
      }
    }
    if (nested && i >= src.length) fail("unclosed {");
    flush();
    return out;
  };
  const argument = (pound: boolean): MsgNode => {
    const name = word(NAME, "an argument name");
    if (i >= src.length) fail("unclosed {");
    if (src[i] === "}") {
      i++;
      return { kind: "arg", name };
    }
    if (src[i] !== ",") fail("expected , or }");
    i++;
    const kind = word(/^[a-z]+/, "plural or select");
    if (kind !== "plural" && kind !== "select") fail(`unsupported argument type "${kind}" (plural or select)`);
    if (src[i] !== ",") fail("expected ,");
    i++;
    const options: Record<string, MsgNode[]> = {};
    for (;;) {
      skipWs();
      if (src[i] === "}") {
        i++;
        break;
      }
      const selector = word(/^(=-?\d+(?:\.\d+)?|[A-Za-z0-9_-]+)/, "a selector");
      if (kind === "plural" && !PLURAL_SELECTOR.test(selector)) fail(`unknown plural selector "${selector}"`);
      if (src[i] !== "{") fail(`expected { after ${selector}`);
      i++;
      options[selector] = nodes(kind === "plural" || pound, true);
      i++; // the closing }
    }
    if (!options.other) fail(`${kind} argument "${name}" needs an "other" option`);
    return { kind: kind as "plural" | "select", name, options };
  };
  return nodes(inPlural, false);
}

/** Placeholder names a message uses (arguments, plural and select arguments). */
export function messageArguments(nodes: MsgNode[], into = new Set<string>()): Set<string> {
  for (const n of nodes) {
    if (n.kind === "arg") into.add(n.name);
    else if (n.kind === "plural" || n.kind === "select") {
      into.add(n.name);
      for (const opt of Object.values(n.options)) messageArguments(opt, into);
    }
  }
  return into;
}

export interface FormatInput {
  locale: string;
  params: Record<string, string>;
  /** fills `{count}` and `#` of plural_forms */
  count?: number;
}

export interface Formatted {
  text: string;
  /** arguments with no value, left as `{name}` in the text */
  missing: string[];
}

/** Format parsed nodes. Throws MessageArgumentError when a plural argument is not a number. */
export function formatMessage(nodes: MsgNode[], input: FormatInput): Formatted {
  const nf = new Intl.NumberFormat(input.locale, { maximumFractionDigits: 6 });
  const missing = new Set<string>();
  const value = (name: string): string | undefined =>
    name in input.params
      ? input.params[name]
      : name === "count" && input.count !== undefined
        ? nf.format(input.count)
        : undefined;
  const numberOf = (name: string): number | undefined => {
    if (name === "count" && !(name in input.params)) return input.count;
    const raw = input.params[name];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n))
      throw new MessageArgumentError(`param "${name}" must be a number, got "${raw}"`);
    return n;
  };
  const walk = (list: MsgNode[], pound: number | undefined): string =>
    list
      .map((n) => {
        switch (n.kind) {
          case "text":
            return n.value;
          case "pound":
            return pound === undefined ? "#" : nf.format(pound);
          case "arg": {
            const v = value(n.name);
            if (v === undefined) missing.add(n.name);
            return v ?? `{${n.name}}`;
          }
          case "plural": {
            const num = numberOf(n.name);
            if (num === undefined) {
              missing.add(n.name);
              return `{${n.name}}`;
            }
            const chosen = n.options[`=${num}`] ?? n.options[pluralCategory(input.locale, num)] ?? n.options.other!;
            return walk(chosen, num);
          }
          case "select": {
            const v = input.params[n.name];
            if (v === undefined) missing.add(n.name);
            return walk((v !== undefined && n.options[v]) || n.options.other!, pound);
          }
        }
      })
      .join("");
  return { text: walk(nodes, input.count), missing: [...missing] };
}

export interface MessageEntry {
  text: string;
  /** keyed by CLDR category or exact `=N` */
  pluralForms: Record<string, string>;
}

/** Problems with an entry's syntax (empty when it is fine). */
export function checkEntry(entry: MessageEntry): string[] {
  const problems: string[] = [];
  if (!entry.text && Object.keys(entry.pluralForms).length === 0) problems.push("needs text or plural_forms");
  const check = (label: string, src: string, inPlural: boolean) => {
    try {
      parseMessage(src, inPlural);
    } catch (err) {
      problems.push(`${label}: ${(err as Error).message}`);
    }
  };
  if (entry.text) check("text", entry.text, false);
  for (const [sel, src] of Object.entries(entry.pluralForms)) {
    if (!PLURAL_SELECTOR.test(sel))
      problems.push(`plural form "${sel}": not a plural category (${PLURAL_CATEGORIES.join(", ")}) or =N`);
    else check(`plural form "${sel}"`, src, true);
  }
  return problems;
}

export interface Rendered extends Formatted {
  category?: PluralCategoryName;
}

/**
 * Render an entry: with a count, the exact `=N` form, else the form of the count's category, else
 * `other`, else the text; without one, the text (or `other`).
 */
export function renderEntry(entry: MessageEntry, input: FormatInput): Rendered {
  const category = input.count === undefined ? undefined : pluralCategory(input.locale, input.count);
  const forms = entry.pluralForms;
  let src: string | undefined;
  let inPlural = false;
  if (input.count !== undefined) {
    src = forms[`=${input.count}`] ?? forms[category!] ?? forms.other;
    inPlural = src !== undefined;
  }
  if (src === undefined) src = entry.text || forms.other || "";
  const out = formatMessage(parseMessage(src, inPlural), input);
  return { ...out, category };
}
