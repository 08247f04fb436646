// Zoom and pan of the live map (issue 18), by its SVG's viewBox: the mouse wheel zooms around the pointer, a drag
// pans, two fingers pinch (pointer events: mouse, pen and touch alike), and the +, − and Fit buttons. The view keeps
// the site's aspect ratio (the SVG keeps its size), stays between MIN_ZOOM and MAX_ZOOM, and its middle stays on the
// site. The zoom (1: the whole site) is on the SVG as data-zoom.
import type { Box } from "./map_labels";

const MIN_ZOOM = 1;
const MAX_ZOOM = 16;
const STEP = 1.5; // a button press
const DRAG_PX = 4; // a press that moves less is a click (a robot's card), not a drag

/** Where the view's content is on screen: the client position of the view's top-left corner and its width in px. */
interface Frame { left: number; top: number; px: number }

export class MapZoom {
  private box: Box;
  private pointers = new Map<number, { x: number; y: number }>();
  private gesture: { box: Box; frame: Frame; anchor: [number, number]; spread: number; moved: boolean } | null = null;
  private dragged = false; // the last press was a drag: its click is not a click on a robot

  constructor(private svg: SVGSVGElement, private home: Box, private onChange: () => void) {
    this.box = { ...home };
    this.apply();
    svg.addEventListener("wheel", (e) => this.wheel(e), { passive: false });
    svg.addEventListener("pointerdown", (e) => this.down(e));
    svg.addEventListener("pointermove", (e) => this.move(e));
    for (const type of ["pointerup", "pointercancel", "lostpointercapture"] as const) {
      svg.addEventListener(type, (e) => this.up(e));
    }
    svg.addEventListener("click", (e) => {
      if (!this.dragged) return;
      this.dragged = false;
      e.stopPropagation(); // the end of a drag over a robot does not open its card
    }, true);
  }

  /** The part of the map in view, in the SVG's frame. */
  get view(): Box {
    return { ...this.box };
  }

  get zoom(): number {
    return this.home.w / this.box.w;
  }

  zoomIn(): void {
    this.zoomAround(this.zoom * STEP);
  }

  zoomOut(): void {
    this.zoomAround(this.zoom / STEP);
  }

  fit(): void {
    this.box = { ...this.home };
    this.apply();
  }

  /** Zooms to `zoom` keeping the point at the middle of the view (or `anchor`, a point of the map) where it is. */
  private zoomAround(zoom: number, anchor?: [number, number]): void {
    const [ax, ay] = anchor ?? [this.box.x + this.box.w / 2, this.box.y + this.box.h / 2];
    const w = this.home.w / this.clampZoom(zoom);
    const f = w / this.box.w;
    this.set({ x: ax - (ax - this.box.x) * f, y: ay - (ay - this.box.y) * f, w, h: this.box.h * f });
  }

  private clampZoom(zoom: number): number {
    return Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, zoom));
  }

  /** The view `box`, its middle kept on the site. */
  private set(box: Box): void {
    const mx = Math.min(Math.max(box.x + box.w / 2, this.home.x), this.home.x + this.home.w);
    const my = Math.min(Math.max(box.y + box.h / 2, this.home.y), this.home.y + this.home.h);
    this.box = { x: mx - box.w / 2, y: my - box.h / 2, w: box.w, h: box.h };
    this.apply();
  }

  private apply(): void {
    const { x, y, w, h } = this.box;
    this.svg.setAttribute("viewBox", `${x.toFixed(3)} ${y.toFixed(3)} ${w.toFixed(3)} ${h.toFixed(3)}`);
    this.svg.dataset.zoom = this.zoom.toFixed(3);
    this.onChange();
  }

  private frame(): Frame | null {
    const m = this.svg.getScreenCTM();
    if (!m || m.a === 0) return null;
    return { left: m.e + m.a * this.box.x, top: m.f + m.d * this.box.y, px: m.a * this.box.w };
  }

  /** The point of the map under the client point (x, y), in `box` shown in `frame`. */
  private at(box: Box, frame: Frame, x: number, y: number): [number, number] {
    const unit = box.w / frame.px;
    return [box.x + (x - frame.left) * unit, box.y + (y - frame.top) * unit];
  }

  /** The view of width `w` that shows the map point `anchor` at the client point (x, y), in `frame`. */
  private placeAt(anchor: [number, number], x: number, y: number, w: number, frame: Frame): void {
    const unit = w / frame.px;
    this.set({ x: anchor[0] - (x - frame.left) * unit, y: anchor[1] - (y - frame.top) * unit, w,
      h: w * (this.home.h / this.home.w) });
  }

  private wheel(e: WheelEvent): void {
    const frame = this.frame();
    if (!frame) return;
    e.preventDefault();
    const lines = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1;
    const zoom = this.clampZoom(this.zoom * Math.exp((-e.deltaY * lines) / 500));
    this.placeAt(this.at(this.box, frame, e.clientX, e.clientY), e.clientX, e.clientY, this.home.w / zoom, frame);
  }

  /** The gesture as the pointers now down start it: one pans, two pinch (around their middle). */
  private begin(): void {
    const frame = this.frame();
    if (!frame || !this.pointers.size) {
      this.gesture = null;
      return;
    }
    const pts = [...this.pointers.values()];
    const mid = pts.length > 1 ? { x: (pts[0].x + pts[1].x) / 2, y: (pts[0].y + pts[1].y) / 2 } : pts[0];
    const spread = pts.length > 1 ? Math.hypot(pts[0].x - pts[1].x, pts[0].y - pts[1].y) : 0;
    this.gesture = { box: { ...this.box }, frame, anchor: this.at(this.box, frame, mid.x, mid.y), spread,
      moved: this.gesture?.moved ?? false };
  }

  private down(e: PointerEvent): void {
    if (e.pointerType === "mouse" && e.button !== 0) return;
    if ((e.target as Element).closest("button, a, input")) return;
    if (this.pointers.size === 0) this.dragged = false;
    this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    this.begin();
  }

  private move(e: PointerEvent): void {
    const start = this.pointers.get(e.pointerId);
    const g = this.gesture;
    if (!start || !g) return;
    const pts = [...this.pointers.entries()].map(([id, p]) => (id === e.pointerId ? { x: e.clientX, y: e.clientY } : p));
    if (!g.moved) {
      if (pts.length < 2 && Math.hypot(e.clientX - start.x, e.clientY - start.y) < DRAG_PX) return;
      g.moved = true;
      this.dragged = true;
      this.svg.classList.add("panning");
      for (const id of this.pointers.keys()) {
        try {
          this.svg.setPointerCapture(id); // the drag goes on outside the map
        } catch {
          /* a pointer the browser no longer knows (or a synthetic one): the drag works while over the map */
        }
      }
    }
    e.preventDefault();
    if (pts.length > 1) {
      const mid = { x: (pts[0].x + pts[1].x) / 2, y: (pts[0].y + pts[1].y) / 2 };
      const spread = Math.hypot(pts[0].x - pts[1].x, pts[0].y - pts[1].y);
      const zoom = this.clampZoom((this.home.w / g.box.w) * (g.spread > 0 ? spread / g.spread : 1));
      this.placeAt(g.anchor, mid.x, mid.y, this.home.w / zoom, g.frame);
    } else {
      this.placeAt(g.anchor, e.clientX, e.clientY, g.box.w, g.frame);
    }
    this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
  }

  private up(e: PointerEvent): void {
    if (!this.pointers.delete(e.pointerId)) return;
    if (this.pointers.size) {
      this.begin(); // a finger lifted from a pinch: the other one pans on from where it is
    } else {
      this.gesture = null;
      this.svg.classList.remove("panning");
    }
  }
}
