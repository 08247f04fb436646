// Small DOM helpers shared by the views: no framework, plain elements.
import { dayOf, term, timeOfDay } from "./i18n";

export const $ = <T extends Element>(sel: string, root: ParentNode = document) => root.querySelector(sel) as T;

export function text(tag: string, value: string, cls = ""): HTMLElement {
  const node = document.createElement(tag);
  node.textContent = value;
  if (cls) node.className = cls;
  return node;
}

export function cell(...children: (Node | string)[]): HTMLTableCellElement {
  const td = document.createElement("td");
  td.append(...children);
  return td;
}

export function button(label: string, onClick: () => void | Promise<void>, cls = ""): HTMLButtonElement {
  const b = text("button", label, `small ${cls}`.trim()) as HTMLButtonElement;
  b.type = "button";
  b.addEventListener("click", (event) => {
    event.stopPropagation(); // buttons inside a clickable row act on their own
    b.disabled = true;
    void Promise.resolve(onClick()).finally(() => { b.disabled = false; });
  });
  return b;
}

/** A value the API sends (a status, a priority, a severity) as a coloured label, in the console's language. */
export function badge(status: string, prefix = "status"): HTMLElement {
  const node = text("span", term(prefix, status), `badge ${prefix}-${status}`);
  node.dataset.status = status;
  return node;
}

/** A UTC timestamp from the API (SQLite hands some back without an offset) as a Date. */
export function parseTime(value: string): Date {
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`);
}

/** Wall time in the site's time zone, with the date only when it is not today there. */
export function clock(value: string | null | undefined): string {
  if (!value) return "–";
  const t = parseTime(value);
  const time = timeOfDay(t);
  return dayOf(t) === dayOf(new Date()) ? time : `${dayOf(t)} ${time}`;
}

/** Redraws at most once per animation frame, however often it is asked. */
export function coalesce(draw: () => void): () => void {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      draw();
    });
  };
}

/** An <option> of a select: its value and the label people read. */
export function option(value: string, label: string): HTMLOptionElement {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = label;
  return o;
}
