// The robots' name tags and the places' names on the map (issue 18): layers above the robots, in the SVG's own frame
// (+y down), so a label is never mirrored or turned with its robot. Labels keep the same size on screen at every
// zoom. A robot's tag is placed by a greedy pass among a few spots around its robot, the one that overlaps the tags
// already placed, the robots and the edge of the view the least, and it is kept inside the view. The places' names
// come after the tags: each takes the first of its spots (right of its dot, flipped left near the right edge, then
// above, below, the corners) that lies inside the view and clear of the tags and the names already placed; a name
// with no such spot is hidden, the least important first (PlaceLabelLayer).

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
   * `names`: the places' names, covered only when nothing else is free. Returns the boxes of the tags shown. */
  layout(robots: Tagged[], view: Box, unit: number, names: Box[] = []): Box[] {
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
    return placed;
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

/** A place's name to show: its dot's centre in the SVG's frame, the dot's radius, and its rank (lower: more
 * important, shown first when names compete for room). */
export interface PlaceName { name: string; x: number; y: number; r: number; rank: number }

const NAME_FONT_PX = 11; // a place's name, in screen pixels (normal weight: textWidth(name, false))
const NAME_PAD_PX = 1; // left and right of a name
const NAME_LEAD_PX = 2; // above and below it (a line of text is taller than its font size)
const NAME_CELL_PX = 96; // the side of a cell of the index of the boxes placed, in screen pixels

/** The boxes placed so far, by the cells of a grid they touch: a new box is checked against its neighbours only,
 * so a few hundred names are placed in well under a frame. */
class BoxIndex {
  private cells = new Map<string, Box[]>();

  constructor(private cell: number) {}

  private keys(b: Box): string[] {
    const out: string[] = [];
    for (let i = Math.floor(b.x / this.cell); i <= Math.floor((b.x + b.w) / this.cell); i++) {
      for (let j = Math.floor(b.y / this.cell); j <= Math.floor((b.y + b.h) / this.cell); j++) out.push(`${i},${j}`);
    }
    return out;
  }

  add(b: Box): void {
    for (const k of this.keys(b)) {
      const list = this.cells.get(k);
      if (list) list.push(b);
      else this.cells.set(k, [b]);
    }
  }

  hits(b: Box): boolean {
    for (const k of this.keys(b)) for (const o of this.cells.get(k) ?? []) if (overlap(b, o) > 0) return true;
    return false;
  }

  /** The area of `b` that the boxes of the index cover (counted once per box). */
  covered(b: Box): number {
    const seen = new Set<Box>();
    let area = 0;
    for (const k of this.keys(b)) {
      for (const o of this.cells.get(k) ?? []) {
        if (seen.has(o)) continue;
        seen.add(o);
        area += overlap(b, o);
      }
    }
    return area;
  }
}

/** The spots of a name, in order of preference: right of its dot, left (the flip near the right edge), above,
 * below, then the four corners. */
function nameSpots(p: PlaceName, w: number, h: number, gap: number): Box[] {
  const d = p.r + gap;
  const spots: [number, number][] = [
    [p.x + d, p.y - h / 2], [p.x - d - w, p.y - h / 2], [p.x - w / 2, p.y - d - h], [p.x - w / 2, p.y + d],
    [p.x + d * 0.7, p.y - d * 0.7 - h], [p.x - d * 0.7 - w, p.y - d * 0.7 - h],
    [p.x + d * 0.7, p.y + d * 0.7], [p.x - d * 0.7 - w, p.y + d * 0.7],
  ];
  return spots.map(([x, y]) => ({ x, y, w, h }));
}

function inside(b: Box, view: Box): boolean {
  return b.x >= view.x && b.y >= view.y && b.x + b.w <= view.x + view.w && b.y + b.h <= view.y + view.h;
}

export class PlaceLabelLayer {
  readonly layer: SVGGElement;
  private names: { place: PlaceName; text: SVGTextElement; shown: boolean }[];

  /** `places` in the order of their rank. */
  constructor(parent: Element, places: PlaceName[]) {
    this.layer = document.createElementNS(NS, "g");
    this.layer.setAttribute("class", "place-labels");
    parent.appendChild(this.layer);
    this.names = [...places].sort((a, b) => a.rank - b.rank || a.name.localeCompare(b.name)).map((place) => {
      const text = document.createElementNS(NS, "text");
      text.setAttribute("data-testid", "place-label");
      text.setAttribute("data-place", place.name);
      text.textContent = place.name;
      text.setAttribute("hidden", "");
      this.layer.appendChild(text);
      return { place, text, shown: false };
    });
  }

  /** Where a name goes when nothing is in its way (the robots' tags keep clear of it where they can). */
  preferred(unit: number): Box[] {
    return this.names.map(({ place }) => nameSpots(place, this.width(place, unit), this.height(unit), 2 * unit)[0]);
  }

  private width(p: PlaceName, unit: number): number {
    return (textWidth(p.name, false) + 2 * NAME_PAD_PX) * unit;
  }

  private height(unit: number): number {
    return (NAME_FONT_PX + 2 * NAME_LEAD_PX) * unit;
  }

  /** Places the names in the view (`unit`: a screen pixel), clear of `tags` (the robots' tags) and of each other;
   * `bodies` (the robots) and the places' dots are avoided where another spot is free. Returns the boxes shown. */
  layout(view: Box, unit: number, tags: Box[], bodies: Box[]): Box[] {
    const inner = { x: view.x + 2 * unit, y: view.y + 2 * unit, w: view.w - 4 * unit, h: view.h - 4 * unit };
    const taken = new BoxIndex(NAME_CELL_PX * unit);
    for (const t of tags) taken.add(t);
    const soft = new BoxIndex(NAME_CELL_PX * unit); // the robots and the dots of the places in view
    for (const b of bodies) soft.add(b);
    const inView = this.names.filter(({ place: p }) => p.x >= view.x && p.x <= view.x + view.w
      && p.y >= view.y && p.y <= view.y + view.h);
    for (const { place: p } of inView) soft.add({ x: p.x - p.r, y: p.y - p.r, w: 2 * p.r, h: 2 * p.r });
    const h = this.height(unit);
    const shown: Box[] = [];
    const visible = new Set(inView);
    for (const entry of this.names) {
      let best: Box | null = null;
      if (visible.has(entry)) {
        let bestCost = Infinity;
        const w = this.width(entry.place, unit);
        for (const [i, spot] of nameSpots(entry.place, w, h, 2 * unit).entries()) {
          if (!inside(spot, inner) || taken.hits(spot)) continue;
          const cost = i * 0.05 * w * h + soft.covered(spot);
          if (cost < bestCost) {
            bestCost = cost;
            best = spot;
          }
          if (cost === 0) break; // the most preferred spot that is wholly free
        }
      }
      if (best) {
        taken.add(best);
        shown.push(best);
        this.draw(entry.text, best, unit);
      }
      if (entry.shown !== !!best) entry.text.toggleAttribute("hidden", !best);
      entry.shown = !!best;
    }
    return shown;
  }

  private draw(text: SVGTextElement, box: Box, unit: number): void {
    // (laid out again at every robot move: an attribute is written only when it changes, sparing the browser a
    // style and layout pass for names that stay where they are)
    set(text, "x", (box.x + NAME_PAD_PX * unit).toFixed(4));
    set(text, "y", (box.y + box.h / 2).toFixed(4));
    set(text, "font-size", (NAME_FONT_PX * unit).toFixed(4));
  }
}

function set(el: Element, name: string, value: string): void {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}
