// State transfers in parts: a failover's StateChunks, a rejoin's HandedOver and Install, an
// add's RkeyPrepared and RkeyEntries, a remove's RkeyReleased and WriteBack. A transport may carry a message of bounded size only (UDP: one datagram, 1472 bytes off
// loopback, and no fragmentation), so a sender splits the items and client-table entries into
// parts of at most `transferBytes` estimated bytes, and the receiver acts once it has every part.
//
// The estimate is of the JSON the codec writes for plain messages, and errs high: a string of
// printable ASCII that needs no escape counts its length, any other 6 bytes per UTF-16 unit (the
// longest escape, \uXXXX), and every number its longest form. A single item larger than the
// budget goes in a part of its own: each value must fit a datagram.
import type { ClientEntry } from '../kv-hash/store.ts';
import type { EntryList, ItemList } from './messages.ts';

/** Default budget per part: one loopback datagram (65507 bytes) with room for the envelope, and ws. */
export const DEFAULT_TRANSFER_BYTES = 60_000;

type Item = ItemList[number];
type Entry = readonly [number, ClientEntry];

const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** JSON bytes of a string, quotes included, at most. */
export function stringBytes(s: string): number {
  return 2 + (PLAIN.test(s) ? s.length : 6 * s.length);
}

/** `[,4294967295,,1048576],`: the punctuation and numbers of an item, with room to spare. */
const ITEM_BYTES = 32;
/** `[sk,{"reqId":,"key":,"ver":,"value":,"valueBytes":}],` with 16-digit numbers, and room to spare. */
const ENTRY_BYTES = 112;

export function itemBytes(it: Item): number {
  return ITEM_BYTES + stringBytes(it[0]) + stringBytes(it[2]);
}

export function entryBytes(e: Entry): number {
  return ENTRY_BYTES + stringBytes(e[1].key) + stringBytes(e[1].value);
}

/** Bytes of a list of strings (rkeys, hosts), each with a number beside it if `withNumbers`. */
export function listBytes(xs: readonly string[], withNumbers = false): number {
  let n = 2;
  for (const x of xs) n += stringBytes(x) + (withNumbers ? 20 : 1);
  return n;
}

export interface Part {
  readonly items: Item[];
  readonly entries: Entry[];
}

/**
 * Items then entries, in parts of at most `budget` estimated bytes; the first part also carries
 * `firstBytes` of other fields (what only it carries). Never empty: a transfer of nothing is one
 * empty part.
 */
export function splitParts(items: ItemList, entries: EntryList, budget: number, firstBytes = 0): Part[] {
  const parts: Part[] = [{ items: [], entries: [] }];
  let used = firstBytes;
  const room = (bytes: number): Part => {
    const cur = parts[parts.length - 1]!;
    if (used + bytes <= budget || cur.items.length + cur.entries.length === 0) {
      used += bytes;
      return cur;
    }
    const next: Part = { items: [], entries: [] };
    parts.push(next);
    used = bytes;
    return next;
  };
  for (const it of items) room(itemBytes(it)).items.push(it);
  for (const e of entries) room(entryBytes(e)).entries.push(e);
  return parts;
}

/** The parts of one transfer received so far (chunk -> part). */
export interface Parts<T> {
  readonly got: (T | undefined)[];
  have: number;
}

export function newParts<T>(chunks: number): Parts<T> {
  return { got: new Array<T | undefined>(chunks).fill(undefined), have: 0 };
}

/**
 * Take part `chunk` of `chunks`: false for a duplicate, and for a part that does not belong
 * (another count of parts: a sender answers one round with one split, so it is not of this one).
 */
export function takePart<T>(p: Parts<T>, chunk: number, chunks: number, part: T): boolean {
  if (chunks !== p.got.length || chunk >= chunks || p.got[chunk] !== undefined) return false;
  p.got[chunk] = part;
  p.have++;
  return true;
}

export function isComplete<T>(p: Parts<T>): boolean {
  return p.have === p.got.length;
}

/** Every part, in order (once complete). */
export function allParts<T>(p: Parts<T>): T[] {
  return p.got as T[];
}
