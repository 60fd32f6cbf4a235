/**
 * Connected components (8-connectivity) of a boolean grid: the shared step behind heat-map
 * regions and shielding suspects. Pure.
 */
export interface Component {
  readonly minX: number;
  readonly minY: number;
  readonly maxX: number;
  readonly maxY: number;
  /** Flat indices of the component's cells. */
  readonly cells: readonly number[];
}

export function components(mask: Uint8Array, cols: number, rows: number): Component[] {
  const seen = new Uint8Array(mask.length);
  const out: Component[] = [];
  const stack: number[] = [];
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    seen[start] = 1;
    stack.push(start);
    const cells: number[] = [];
    let minX = cols;
    let minY = rows;
    let maxX = -1;
    let maxY = -1;
    while (stack.length > 0) {
      const n = stack.pop()!;
      cells.push(n);
      const x = n % cols;
      const y = (n - x) / cols;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= rows) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= cols) continue;
          const m = yy * cols + xx;
          if (mask[m] && !seen[m]) {
            seen[m] = 1;
            stack.push(m);
          }
        }
      }
    }
    out.push({ minX, minY, maxX, maxY, cells });
  }
  return out;
}
