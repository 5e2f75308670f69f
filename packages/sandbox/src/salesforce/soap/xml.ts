/**
 * Just enough XML for SOAP envelopes: elements, attributes, text, CDATA, comments, the XML
 * declaration and the five named entities plus numeric references. No DTDs (rejected), no
 * namespace resolution beyond splitting `prefix:local`.
 */

export interface XmlElement {
  /** Qualified name as written (`soapenv:Body`). */
  name: string;
  /** Name without its prefix (`Body`). */
  local: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated text content directly inside this element. */
  text: string;
}

export class XmlSyntaxError extends Error {}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function decode(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith("#x")) return String.fromCodePoint(Number.parseInt(e.slice(2), 16));
    if (e.startsWith("#")) return String.fromCodePoint(Number(e.slice(1)));
    const v = ENTITIES[e];
    if (v === undefined) throw new XmlSyntaxError(`unknown entity ${m}`);
    return v;
  });
}

const localName = (qname: string) => qname.slice(qname.indexOf(":") + 1);

/** Parses a document and returns its root element. */
export function parseXml(src: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const fail = (msg: string): never => {
    throw new XmlSyntaxError(`${msg} at offset ${i}`);
  };
  while (i < src.length) {
    if (src.startsWith("<?", i)) {
      const end = src.indexOf("?>", i);
      if (end < 0) fail("unterminated processing instruction");
      i = end + 2;
    } else if (src.startsWith("<!--", i)) {
      const end = src.indexOf("-->", i);
      if (end < 0) fail("unterminated comment");
      i = end + 3;
    } else if (src.startsWith("<![CDATA[", i)) {
      const end = src.indexOf("]]>", i);
      if (end < 0) fail("unterminated CDATA");
      const top = stack[stack.length - 1] ?? fail("CDATA outside the root element");
      top.text += src.slice(i + 9, end);
      i = end + 3;
    } else if (src.startsWith("<!", i)) {
      fail("DTDs are not accepted");
    } else if (src.startsWith("</", i)) {
      const end = src.indexOf(">", i);
      if (end < 0) fail("unterminated end tag");
      const name = src.slice(i + 2, end).trim();
      const top = stack.pop();
      if (!top || top.name !== name) fail(`mismatched end tag </${name}>`);
      i = end + 1;
    } else if (src[i] === "<") {
      const m = /^<([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/.exec(
        src.slice(i),
      );
      if (!m) fail("malformed start tag");
      const [whole, name, rawAttrs, selfClose] = m!;
      const attrs: Record<string, string> = {};
      for (const a of rawAttrs!.matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g))
        attrs[a[1]!] = decode(a[2] ?? a[3] ?? "");
      const el: XmlElement = { name: name!, local: localName(name!), attrs, children: [], text: "" };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(el);
      else if (root) fail("more than one root element");
      else root = el;
      if (!selfClose) stack.push(el);
      i += whole!.length;
    } else {
      const next = src.indexOf("<", i);
      const end = next < 0 ? src.length : next;
      const text = src.slice(i, end);
      const top = stack[stack.length - 1];
      if (top) top.text += decode(text);
      else if (text.trim()) fail("text outside the root element");
      i = end;
    }
  }
  if (stack.length) fail(`unclosed element <${stack[stack.length - 1]!.name}>`);
  return root ?? fail("empty document");
}

/** Escapes text for element content and attribute values. */
export function escapeXml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** First child with local name `local`. */
export function child(el: XmlElement | undefined, local: string): XmlElement | undefined {
  return el?.children.find((c) => c.local === local);
}

/** All children with local name `local`. */
export function childrenNamed(el: XmlElement | undefined, local: string): XmlElement[] {
  return el?.children.filter((c) => c.local === local) ?? [];
}

/** A JSON-ish value for an element: text for leaves, objects for branches (repeated names become arrays). */
export type XmlValue = string | null | { [k: string]: XmlValue | XmlValue[] };

export function toValue(el: XmlElement): XmlValue {
  if (el.attrs["xsi:nil"] === "true") return null;
  if (!el.children.length) return el.text.trim();
  const out: { [k: string]: XmlValue | XmlValue[] } = {};
  for (const c of el.children) {
    const v = toValue(c);
    const prev = out[c.local];
    if (prev === undefined) out[c.local] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[c.local] = [prev, v];
  }
  return out;
}

/** Serialises a value the way jsforce builds SOAP bodies: arrays repeat the element, null is xsi:nil. */
export function toXml(name: string, value: unknown, attrs = ""): string {
  if (Array.isArray(value)) return value.map((v) => toXml(name, v)).join("");
  if (value === null) return `<${name}${attrs} xsi:nil="true"/>`;
  if (value === undefined) return "";
  if (typeof value === "object") {
    const inner = Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => toXml(k, v))
      .join("");
    return `<${name}${attrs}>${inner}</${name}>`;
  }
  return `<${name}${attrs}>${escapeXml(String(value))}</${name}>`;
}
