// The robots' name tags on the map (issue 18): one layer above the robots, in the SVG's own frame (+y down), so a
// tag is never mirrored or turned with its robot. Tags keep the same size on screen at every zoom; each is placed
// by a greedy pass among a few spots around its robot, the one that overlaps the tags already placed, the robots
// and the edge of the view the least, and it is kept inside the view.

const NS = "http://www.w3.org/2000/svg";
const FONT_PX = 11; // tag text, in screen pixels
const PAD_PX = 3; // inside the tag, around the text
const GAP_PX = 3; // between a robot and its tag
const FONT = `700 ${FONT_PX}px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif`;

export interface Box { x: number; y: number; w: number; h: number }
/** A robot to tag: its centre in the SVG's frame (the map's y negated), its radius, its tag's text and colour. */
export interface Tagged { id: string; x: number; y: number; r: number; text: string; colour: string }

let canvas: CanvasRenderingContext2D | null | undefined;
const widths = new Map<string, number>();

/** The text's width in pixels at FONT_PX, bold or not (measured once per text, on a canvas: it works while the map
 * is hidden). */
export function textWidth(value: string, bold = true): number {
  const key = `${bold ? "b" : "n"}${value}`;
  let width = widths.get(key);
  if (width === undefined) {
    if (canvas === undefined) canvas = document.createElement("canvas").getContext("2d");
    if (canvas) canvas.font = bold ? FONT : FONT.replace("700 ", "");
    width = canvas ? canvas.measureText(value).width : value.length * FONT_PX * (bold ? 0.62 : 0.56);
    widths.set(key, width);
  }
  return width;
}

function overlap(a: Box, b: Box): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/** The part of `a` outside `view`. */
function outside(a: Box, view: Box): number {
  return a.w * a.h - overlap(a, view);
}

/** The spots tried, in order of preference: above, below, right, left, the four corners, then further out. */
function candidates(t: Tagged, w: number, h: number, gap: number): Box[] {
  const d = t.r + gap;
  const spots: [number, number][] = [
    [t.x - w / 2, t.y - d - h], [t.x - w / 2, t.y + d], [t.x + d, t.y - h / 2], [t.x - d - w, t.y - h / 2],
    [t.x + d * 0.7, t.y - d * 0.7 - h], [t.x - d * 0.7 - w, t.y - d * 0.7 - h],
    [t.x + d * 0.7, t.y + d * 0.7], [t.x - d * 0.7 - w, t.y + d * 0.7],
    [t.x - w / 2, t.y - d - 2 * h], [t.x - w / 2, t.y + d + h], [t.x + d + w / 2, t.y - h / 2],
    [t.x - d - 1.5 * w, t.y - h / 2],
  ];
  return spots.map(([x, y]) => ({ x, y, w, h }));
}

export class LabelLayer {
  readonly layer: SVGGElement;
  private tags = new Map<string, { g: SVGGElement; rect: SVGRectElement; text: SVGTextElement; shown: string }>();

  constructor(parent: Element) {
    this.layer = document.createElementNS(NS, "g");
    this.layer.setAttribute("class", "robot-tags");
    parent.appendChild(this.layer);
  }

  private tag(id: string): { g: SVGGElement; rect: SVGRectElement; text: SVGTextElement; shown: string } {
    let tag = this.tags.get(id);
    if (!tag) {
      const g = document.createElementNS(NS, "g");
      g.setAttribute("class", "robot-tag");
      g.setAttribute("data-testid", "robot-label");
      g.setAttribute("data-robot-id", id);
      const rect = document.createElementNS(NS, "rect");
      const text = document.createElementNS(NS, "text");
      g.append(rect, text);
      this.layer.appendChild(g);
      tag = { g, rect, text, shown: "" };
      this.tags.set(id, tag);
    }
    return tag;
  }

  remove(id: string): void {
    this.tags.get(id)?.g.remove();
    this.tags.delete(id);
  }

  /** Places every tag: `view` is the part of the map on screen, `unit` the length of one screen pixel in it;
   * `names`: the places' names, covered only when nothing else is free. */
  layout(robots: Tagged[], view: Box, unit: number, names: Box[] = []): void {
    const placed: Box[] = [];
    const bodies: Box[] = robots.map((t) => ({ x: t.x - t.r, y: t.y - t.r, w: 2 * t.r, h: 2 * t.r }));
    const inner = { x: view.x + 2 * unit, y: view.y + 2 * unit, w: view.w - 4 * unit, h: view.h - 4 * unit };
    // the robots nearest the middle of the view first: crowded edges give way
    const cx = view.x + view.w / 2;
    const cy = view.y + view.h / 2;
    const order = [...robots].sort((a, b) => Math.hypot(a.x - cx, a.y - cy) - Math.hypot(b.x - cx, b.y - cy));
    for (const t of order) {
      const tag = this.tag(t.id);
      const visible = t.x >= view.x - t.r && t.x <= view.x + view.w + t.r && t.y >= view.y - t.r && t.y <= view.y + view.h + t.r;
      tag.g.toggleAttribute("hidden", !visible); // a robot out of the view has no tag at its edge
      if (!visible) continue;
      const w = (textWidth(t.text) + 2 * PAD_PX) * unit;
      const h = (FONT_PX + 2 * PAD_PX) * unit;
      let best: Box | null = null;
      let bestCost = Infinity;
      for (const [i, spot] of candidates(t, w, h, GAP_PX * unit).entries()) {
        let cost = i * 0.01 * w * h + 40 * outside(spot, inner);
        for (const other of placed) cost += 10 * overlap(spot, other);
        for (const body of bodies) cost += 6 * overlap(spot, body);
        for (const name of names) cost += 2 * overlap(spot, name);
        if (cost < bestCost) {
          bestCost = cost;
          best = spot;
        }
      }
      const box: Box = best ?? { x: t.x, y: t.y, w, h };
      // kept inside the view, whatever the cost said
      box.x = Math.min(Math.max(box.x, inner.x), inner.x + inner.w - box.w);
      box.y = Math.min(Math.max(box.y, inner.y), inner.y + inner.h - box.h);
      placed.push(box);
      this.draw(tag, t, box, unit);
    }
  }

  private draw(tag: { g: SVGGElement; rect: SVGRectElement; text: SVGTextElement; shown: string }, t: Tagged, box: Box,
    unit: number): void {
    if (tag.shown !== t.text) {
      tag.text.textContent = t.text;
      tag.shown = t.text;
    }
    tag.g.setAttribute("transform", `translate(${box.x.toFixed(3)} ${box.y.toFixed(3)})`);
    tag.g.style.setProperty("--c", t.colour);
    const set = (node: Element, attrs: Record<string, number>) => {
      for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v.toFixed(4));
    };
    set(tag.rect, { x: 0, y: 0, width: box.w, height: box.h, rx: 3 * unit, "stroke-width": 1.5 * unit });
    set(tag.text, { x: box.w / 2, y: box.h / 2, "font-size": FONT_PX * unit });
  }
}
