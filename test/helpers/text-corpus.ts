// A seeded corpus: mixed scripts, emoji (ZWJ sequences, skin tones, flags), whitespace runs,
// tabs / newlines / CRLF, numbers, punctuation, contractions, random code points, special tokens.

export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  "the", "The", "hello", "Hello", "world", "WORLD", "running", "unaffable", "don't", "I'm", "you're", "we've", "they'll", "he'd", "it's", "She's",
  "Café", "naïve", "straße", "Ærøskøbing", "İstanbul", "ΣΟΦΙΑ", "привет", "Мир", "Москва", "ёлка", "日本語", "中文", "東京", "こんにちは", "カタカナ",
  "한국어", "مرحبا", "العالم", "שלום", "ελληνικά", "हिन्दी", "ไทย", "Ðð", "ǅ",
];
const EMOJI = ["😀", "👍", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "👩🏾‍💻", "❤️", "🇫🇷", "🇯🇵", "🤖", "✨", "🫠", "1️⃣"];
const PUNCT = [".", ",", "!", "?", ";", ":", "'", "\"", "(", ")", "[", "]", "{", "}", "-", "--", "...", "—", "–", "«", "»", "„", "¿", "/", "\\", "@", "#", "$", "%", "&", "*", "+", "=", "<", ">", "|", "~", "`", "^", "_", "'s", "''", ",,,", "!!!", "、", "。"];
const SPACES = [" ", " ", " ", "  ", "   ", "      ", "\t", "\n", "\n\n", " \n", "\t\t", "\r\n", "\u00a0", "\u3000", "\u2009"];

export function corpus(seed: number, n: number, specials: string[] = []): string[] {
  const r = mulberry32(seed);
  const pick = <T>(a: readonly T[]) => a[Math.floor(r() * a.length)];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const parts: string[] = [];
    const len = 1 + Math.floor(r() * 14);
    for (let j = 0; j < len; j++) {
      const k = r();
      if (k < 0.34) parts.push(pick(WORDS));
      else if (k < 0.44) parts.push(String(Math.floor(r() * 10 ** (1 + Math.floor(r() * 8)))));
      else if (k < 0.54) parts.push(pick(EMOJI));
      else if (k < 0.66) parts.push(pick(PUNCT));
      else if (k < 0.7 && specials.length > 0) parts.push(pick(specials));
      else if (k < 0.74) parts.push(String.fromCodePoint(0x21 + Math.floor(r() * 0x2fdf))); // any BMP letter, mark, symbol…
      else if (k < 0.76) parts.push(String.fromCodePoint(0x1f300 + Math.floor(r() * 0x300)));
      else parts.push(pick(SPACES));
      if (r() < 0.45) parts.push(" ");
    }
    out.push(parts.join(""));
  }
  return out;
}

/** The text split around the special tokens, specials kept as their own pieces. */
export function splitSpecials(s: string, specials: string[]): string[] {
  const re = new RegExp(`(${specials.map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})`);
  return s.split(re).filter((x) => x !== "");
}
