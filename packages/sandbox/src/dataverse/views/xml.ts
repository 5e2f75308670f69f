/**
 * A small, strict XML reader for the FetchXml and LayoutXml of saved views: elements, attributes,
 * comments and an XML declaration. Anything not well-formed (unclosed or mismatched tags, duplicate
 * or unquoted attributes, stray `<` or `&`) is an {@link XmlSyntaxError}, as Dataverse refuses a
 * view whose XML it cannot parse. Text content is kept only to be checked for well-formedness: the
 * view languages carry everything in attributes (`<value>` elements of an `in` condition aside).
 */

/** One element: its name, attributes, child elements and text. */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/** The text is not well-formed XML; `message` says where. */
export class XmlSyntaxError extends Error {}

const NAME = /^[A-Za-z_][\w.-]*/;
const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function decode(text: string, at: number): string {
  return text.replace(/&([^;\s]*);?/g, (whole, ref: string) => {
    if (!whole.endsWith(";")) throw new XmlSyntaxError(`Unescaped '&' near position ${at}.`);
    if (ENTITIES[ref] !== undefined) return ENTITIES[ref];
    const m = /^#(x[0-9a-fA-F]+|\d+)$/.exec(ref);
    if (m)
      return String.fromCodePoint(Number.parseInt(m[1]!.replace(/^x/, ""), m[1]!.startsWith("x") ? 16 : 10));
    throw new XmlSyntaxError(`Unknown entity '&${ref};' near position ${at}.`);
  });
}

/** Parses `text` into its root element; throws {@link XmlSyntaxError} when it is not well-formed. */
export function parseXml(text: string): XmlElement {
  let i = 0;
  const skipMisc = () => {
    for (;;) {
      while (i < text.length && /\s/.test(text[i]!)) i++;
      if (text.startsWith("<?", i)) {
        const end = text.indexOf("?>", i);
        if (end < 0) throw new XmlSyntaxError("Unclosed processing instruction.");
        i = end + 2;
      } else if (text.startsWith("<!--", i)) {
        const end = text.indexOf("-->", i);
        if (end < 0) throw new XmlSyntaxError("Unclosed comment.");
        i = end + 3;
      } else return;
    }
  };
  const element = (): XmlElement => {
    if (text[i] !== "<") throw new XmlSyntaxError(`Expected '<' at position ${i}.`);
    i++;
    const name = NAME.exec(text.slice(i))?.[0];
    if (!name) throw new XmlSyntaxError(`Expected an element name at position ${i}.`);
    i += name.length;
    const el: XmlElement = { name, attributes: {}, children: [], text: "" };
    for (;;) {
      const ws = /^\s*/.exec(text.slice(i))![0].length;
      i += ws;
      if (text.startsWith("/>", i)) {
        i += 2;
        return el;
      }
      if (text[i] === ">") {
        i++;
        break;
      }
      if (!ws) throw new XmlSyntaxError(`Expected whitespace, '>' or '/>' in <${name}> at position ${i}.`);
      const attr = NAME.exec(text.slice(i))?.[0];
      if (!attr) throw new XmlSyntaxError(`Bad attribute in <${name}> at position ${i}.`);
      i += attr.length;
      const m = /^\s*=\s*("([^"<]*)"|'([^'<]*)')/.exec(text.slice(i));
      if (!m)
        throw new XmlSyntaxError(`Attribute '${attr}' of <${name}> needs a quoted value (position ${i}).`);
      if (attr in el.attributes) throw new XmlSyntaxError(`Duplicate attribute '${attr}' in <${name}>.`);
      el.attributes[attr] = decode(m[2] ?? m[3] ?? "", i);
      i += m[0].length;
    }
    for (;;) {
      const lt = text.indexOf("<", i);
      if (lt < 0) throw new XmlSyntaxError(`Element <${name}> is not closed.`);
      el.text += decode(text.slice(i, lt), i);
      i = lt;
      if (text.startsWith("<!--", i)) {
        const end = text.indexOf("-->", i);
        if (end < 0) throw new XmlSyntaxError("Unclosed comment.");
        i = end + 3;
      } else if (text.startsWith("</", i)) {
        const close = /^<\/([A-Za-z_][\w.-]*)\s*>/.exec(text.slice(i));
        if (close?.[1] !== name)
          throw new XmlSyntaxError(
            `Element <${name}> is closed by '${text.slice(i, i + 30)}' at position ${i}.`,
          );
        i += close[0].length;
        el.text = el.text.trim();
        return el;
      } else el.children.push(element());
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (i < text.length)
    throw new XmlSyntaxError(`Unexpected content after the root element at position ${i}.`);
  return root;
}
