import type { TableDef } from "../schema/types.js";
import { parseXml, type XmlElement, XmlSyntaxError } from "./xml.js";

/**
 * LayoutXml, the columns a view shows: `<grid name="resultset" object="3" jump="name" select="1"
 * icon="1" preview="1"><row name="result" id="opportunityid"><cell name="name" width="300" />…`
 * (learn.microsoft.com/power-apps/developer/data-platform/customize-entity-views). Checked for
 * well-formedness, the grid's object type code and every cell naming a column of the view's table.
 * Cells of linked tables (`alias.column`) are refused: the sandbox runs no `link-entity`.
 */

/** A LayoutXml the sandbox cannot accept. */
export class LayoutXmlError extends Error {}

/** Validates `text` for a view of `table`; returns the cell names. */
export function validateLayoutXml(table: TableDef, text: string): string[] {
  let root: XmlElement;
  try {
    root = parseXml(text);
  } catch (e) {
    if (e instanceof XmlSyntaxError)
      throw new LayoutXmlError(`The LayoutXml is not well-formed: ${e.message}`);
    throw e;
  }
  if (root.name !== "grid")
    throw new LayoutXmlError(`The LayoutXml root element must be <grid>, not <${root.name}>.`);
  const object = root.attributes.object;
  if (object !== undefined && object !== String(table.objectTypeCode))
    throw new LayoutXmlError(
      `The LayoutXml grid's object '${object}' is not the object type code of '${table.logicalName}' (${table.objectTypeCode}).`,
    );
  const [row, ...more] = root.children;
  if (row?.name !== "row" || more.length)
    throw new LayoutXmlError("The LayoutXml needs exactly one <row> inside <grid>.");
  const id = row.attributes.id;
  if (id !== undefined && !table.columns.has(id))
    throw new LayoutXmlError(`'${table.logicalName}' entity doesn't contain attribute with Name = '${id}'.`);
  const cells: string[] = [];
  for (const cell of row.children) {
    if (cell.name !== "cell") throw new LayoutXmlError(`<row> cannot contain <${cell.name}>.`);
    const name = cell.attributes.name;
    if (!name) throw new LayoutXmlError("Every <cell> needs a name.");
    if (name.includes("."))
      throw new LayoutXmlError(`The cell '${name}' names a linked table, which the sandbox does not run.`);
    if (!table.columns.has(name))
      throw new LayoutXmlError(
        `'${table.logicalName}' entity doesn't contain attribute with Name = '${name}'.`,
      );
    const width = cell.attributes.width;
    if (width !== undefined && !/^\d+$/.test(width))
      throw new LayoutXmlError(`The width '${width}' of cell '${name}' must be a whole number of pixels.`);
    cells.push(name);
  }
  if (!cells.length)
    throw new LayoutXmlError("The LayoutXml has no <cell>: a view must show at least one column.");
  return cells;
}
