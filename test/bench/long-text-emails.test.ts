import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs bench module, no type declarations
import { htmlToText, mailBody } from '../../bench/lib/emails.mjs';

const body = (raw: string): string => (mailBody as (raw: string) => string)(raw);

describe('bench:long-text mail bodies', () => {
  it('drops the headers and decodes quoted-printable', () => {
    const raw = 'From: a@b.c\nSubject: hi\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nCaf=E9 au lait, a long=\n line.\n';
    expect(body(raw)).toBe('Café au lait, a long line.');
  });

  it('keeps the plain part of multipart/alternative, unless it is a stub beside the HTML', () => {
    const mail = (plain: string) =>
      'Content-Type: multipart/alternative; boundary="XX"\n\n--XX\nContent-Type: text/plain\n\n' + plain + '\n--XX\nContent-Type: text/html\n\n<html><body><p>Buy cheap pills now, the best offer you will see this year</p><br></body></html>\n--XX--\n';
    expect(body(mail('Buy cheap pills now, the best offer of the year'))).toBe('Buy cheap pills now, the best offer of the year');
    expect(body(mail('HTML only'))).toBe('Buy cheap pills now, the best offer you will see this year');
  });

  it('finds parts whose boundary the headers never declared, and skips attachments', () => {
    const raw = 'MIME-Version: 1.0\n\nThis is a multipart MIME message.\n\n--= B 1\nContent-Type: text/plain\n\nremove me from the list\n\n--= B 1\nContent-Type: application/octet-stream; name="x.html"\n\nPGh0bWw+\n--= B 1--\n';
    expect(body(raw)).toBe('remove me from the list');
  });

  it('drops quoted replies, attributions, forwarded originals and list footers', () => {
    const raw = [
      'Subject: Re: x',
      '',
      'On Mon, Bob wrote:',
      '> the old text',
      'My answer.',
      '_______________________________________________',
      'Exmh-workers mailing list',
      'https://listman.redhat.com/mailman/listinfo/exmh-workers',
    ].join('\n');
    expect(body(raw)).toBe('My answer.');
    expect(body('Subject: x\n\nThanks!\n-----Original Message-----\nFrom: someone\nthe earlier mail')).toBe('Thanks!');
  });

  it('reduces HTML to its text', () => {
    expect((htmlToText as (html: string) => string)('<style>p{}</style><p>a &amp; b&nbsp;&#233;</p><!-- c -->').replace(/\s+/g, ' ').trim()).toBe('a & b é');
  });
});
