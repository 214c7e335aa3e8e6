/**
 * Plain-text tables for the executables' output.
 *
 * @module
 */

/** Formats rows under a header, columns padded; numbers right-aligned. */
export function formatTable(header: string[], rows: (string | number)[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => String(row[column] ?? "").length))
  );
  const render = (cells: (string | number)[]): string =>
    cells.map((cell, column) => {
      const text = String(cell ?? "");
      return typeof cell === "number" ? text.padStart(widths[column]) : text.padEnd(widths[column]);
    }).join("  ").trimEnd();
  return [render(header), ...rows.map(render)].join("\n");
}
