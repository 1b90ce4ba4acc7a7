// Filling in a cell of an .xlsx as a county office would in Excel, with nothing but Node: an .xlsx
// is a zip of XML parts, and a cell is one `<c r="D7">` element of its sheet's part. Only what
// the decomposition table needs: one sheet, numbers and text put in place of a cell's content.
import zlib from 'node:zlib';

/** The zip's entries, in order: name and uncompressed content. */
function unzip(buf) {
  let end = buf.length - 22;
  while (end >= 0 && buf.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) throw new Error('not a zip');
  const count = buf.readUInt16LE(end + 10);
  let at = buf.readUInt32LE(end + 16);
  const entries = [];
  for (let i = 0; i < count; i++) {
    const method = buf.readUInt16LE(at + 10);
    const packedSize = buf.readUInt32LE(at + 20);
    const size = buf.readUInt32LE(at + 24);
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    const local = buf.readUInt32LE(at + 42);
    const name = buf.toString('utf8', at + 46, at + 46 + nameLen);
    const dataAt = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(dataAt, dataAt + packedSize);
    entries.push({ name, data: method === 0 ? Buffer.from(data) : zlib.inflateRawSync(data) });
    if (entries.at(-1).data.length !== size) throw new Error(`${name}: unexpected size`);
    at += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** A zip of `entries`, each deflated. */
function zip(entries) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const packed = zlib.deflateRawSync(data);
    const nameBuf = Buffer.from(name, 'utf8');
    const crc = zlib.crc32(data);
    const head = Buffer.alloc(30);
    head.writeUInt32LE(0x04034b50, 0);
    head.writeUInt16LE(20, 4);
    head.writeUInt16LE(0x0800, 6); // UTF-8 names
    head.writeUInt16LE(8, 8);
    head.writeUInt32LE(crc, 14);
    head.writeUInt32LE(packed.length, 18);
    head.writeUInt32LE(data.length, 22);
    head.writeUInt16LE(nameBuf.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(head, nameBuf, packed);
    centrals.push(central, nameBuf);
    offset += head.length + nameBuf.length + packed.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

const escape = (t) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The cell `ref` (`D7`) as XML holding `value`: a number, or text. */
function cellXml(ref, style, value) {
  const s = style ? ` s="${style}"` : '';
  return typeof value === 'number'
    ? `<c r="${ref}"${s}><v>${value}</v></c>`
    : `<c r="${ref}"${s} t="inlineStr"><is><t>${escape(value)}</t></is></c>`;
}

/**
 * The workbook `buf` with the cells of its first sheet set as `edits` says
 * (`{ D7: 7, E9: '很多' }`). Each cell must be in the sheet already, as every cell of the
 * table's rows is.
 */
export function editCells(buf, edits) {
  const entries = unzip(buf);
  const sheet = entries.find((e) => e.name === 'xl/worksheets/sheet1.xml');
  let xml = sheet.data.toString('utf8');
  for (const [ref, value] of Object.entries(edits)) {
    const cell = new RegExp(`<c r="${ref}"([^>]*?)(/>|>.*?</c>)`);
    const found = xml.match(cell);
    if (!found) throw new Error(`no cell ${ref} in the sheet`);
    const style = found[1].match(/ s="(\d+)"/)?.[1];
    xml = xml.replace(cell, cellXml(ref, style, value));
  }
  sheet.data = Buffer.from(xml, 'utf8');
  return zip(entries);
}

/** The address of a cell from its row and column, both counted from 0: (6, 3) is `D7`. */
export function address(row, col) {
  let name = '';
  for (let c = col + 1; c > 0; c = Math.floor((c - 1) / 26)) {
    name = String.fromCharCode(65 + ((c - 1) % 26)) + name;
  }
  return `${name}${row + 1}`;
}

const unescape = (t) => t.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');

/** The first sheet's cells as text, by address (`{ A1: '…', D7: '6' }`). */
export function readCells(buf) {
  const entries = unzip(buf);
  const part = (name) => entries.find((e) => e.name === name)?.data.toString('utf8') ?? '';
  const shared = [...part('xl/sharedStrings.xml').matchAll(/<si>(.*?)<\/si>/gs)]
    .map((m) => unescape([...m[1].matchAll(/<t[^>]*>(.*?)<\/t>/gs)].map((t) => t[1]).join('')));
  const cells = {};
  for (const m of part('xl/worksheets/sheet1.xml').matchAll(/<c r="([A-Z]+\d+)"([^>]*?)(?:\/>|>(.*?)<\/c>)/gs)) {
    const [, ref, attrs, inner = ''] = m;
    const v = inner.match(/<v>(.*?)<\/v>/s)?.[1];
    if (v === undefined) continue;
    cells[ref] = / t="s"/.test(attrs) ? shared[Number(v)] : unescape(v);
  }
  return cells;
}
