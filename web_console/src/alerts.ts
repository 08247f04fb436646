// The alerts (issue 18): the open ones (not yet acknowledged, or still holding) in a panel of the operations view,
// the newest unacknowledged banner ones (SEV0, SEV1, e-stops) in a banner under the top bar on every view. Loaded
// at start (and after the live feed was down), then kept by the feed's `alert` frames. An optional beep (off unless
// the operator turns it on, remembered) when a new banner alert arrives. The message is the catalogue's entry the
// server names (`text`: alerts.text.<id> with its parameters), in the console's language; the server's English
// `message` when it names none.
import { api, post } from "./api";
import { $, badge, button, clock, coalesce, text } from "./dom";
import { t, term } from "./i18n";
import { reportError } from "./messages";
import { gate } from "./session";
import type { Alert } from "./types";

const LIMIT = 200;
const BANNER_MAX = 3; // banner lines shown; the others are counted
const SOUND_KEY = "labfleet.alert_sound";

/** Still in the open list: not yet acknowledged, or its cause still holds. */
const isOpen = (a: Alert) => a.acknowledged_at === null || a.active;
const newestFirst = (a: Alert, b: Alert) => b.raised_at.localeCompare(a.raised_at) || b.id - a.id;

/** What the alert says, in the console's language: its text's catalogue entry (an incident's kind as the dashboard
 * says it), else the server's message. */
export function alertMessage(a: Alert): string {
  if (!a.text) return a.message;
  const params: Record<string, string> = { ...a.text.params };
  if (params.incident) params.incident = term("dashboard.incident-kind", params.incident);
  const said = t(a.text.key, params);
  return said === a.text.key ? a.message : said;
}

/** Puts `wanted` in `parent` in order, moving only what is out of place. */
function place(parent: Element, wanted: Element[]): void {
  wanted.forEach((node, i) => {
    if (parent.children[i] !== node) parent.insertBefore(node, parent.children[i] ?? null);
  });
  while (parent.children.length > wanted.length) parent.lastElementChild?.remove();
}

function storedSound(): boolean {
  try {
    return localStorage.getItem(SOUND_KEY) === "on";
  } catch {
    return false;
  }
}

export class AlertsView {
  private readonly alerts = new Map<number, Alert>();
  private readonly rows = new Map<number, { key: string; li: HTMLLIElement; banner?: HTMLElement }>();
  private framed: Set<number> | null = null; // ids a frame told about while the list was loading
  private sound = storedSound();
  private audio: AudioContext | null = null;
  readonly render = coalesce(() => this.draw());

  constructor() {
    const toggle = $<HTMLInputElement>("#alert-sound");
    toggle.checked = this.sound;
    toggle.addEventListener("change", () => {
      this.sound = toggle.checked;
      try {
        localStorage.setItem(SOUND_KEY, this.sound ? "on" : "off");
      } catch {
        /* not remembered: on for this page only */
      }
      if (this.sound) this.beep(); // (a click may start audio: the next beeps can play), and it is heard to work
    });
  }

  /** The open alerts from the API; what frames said meanwhile is newer and kept. */
  async load(): Promise<void> {
    const framed = new Set<number>();
    this.framed = framed;
    try {
      const list = await api<Alert[]>(`/alerts?state=open&limit=${LIMIT}`);
      const listed = new Set(list.map((a) => a.id));
      for (const id of this.alerts.keys()) if (!listed.has(id) && !framed.has(id)) this.alerts.delete(id);
      for (const a of list) if (!framed.has(a.id)) this.alerts.set(a.id, a);
      this.render();
    } catch (err) {
      reportError(t("alerts.loading"), err);
    } finally {
      if (this.framed === framed) this.framed = null;
    }
  }

  /** An alert frame (or an acknowledgement's answer): kept while open, dropped once closed. */
  update(alert: Alert): void {
    this.framed?.add(alert.id);
    const known = this.alerts.get(alert.id);
    if (isOpen(alert)) this.alerts.set(alert.id, alert);
    else this.alerts.delete(alert.id);
    if (!known && alert.banner && alert.active && alert.acknowledged_at === null) this.beep();
    this.render();
  }

  private async acknowledge(alert: Alert): Promise<void> {
    try {
      this.update(await post<Alert>(`/alerts/${alert.id}/acknowledge`));
    } catch (err) {
      reportError(t("alerts.acknowledging", { kind: term("alerts.kind", alert.kind), id: alert.id }), err);
    }
  }

  private ackButton(alert: Alert): HTMLButtonElement {
    const b = button(t("alerts.acknowledge"), () => this.acknowledge(alert), "alert-ack-button");
    b.dataset.testid = "alert-ack";
    b.dataset.alertId = String(alert.id);
    gate(b, "operator");
    return b;
  }

  /** The severity, the kind, the robot and mission it is about, when it was raised. */
  private head(a: Alert): HTMLElement {
    const head = text("div", "", "alert-head");
    const kind = text("span", term("alerts.kind", a.kind), "alert-kind");
    kind.dataset.testid = "alert-kind";
    head.append(badge(a.severity, "severity"), kind);
    if (a.robot_id) {
      const robot = text("span", a.robot_id, "mono alert-robot");
      robot.title = t("alerts.robot_title", { robot: a.robot_id });
      head.append(robot);
    }
    if (a.mission_id !== null) {
      const mission = text("span", `#${a.mission_id}`, "mono alert-mission");
      mission.title = t("alerts.mission_title", { id: a.mission_id });
      head.append(mission);
    }
    const time = text("time", clock(a.raised_at), "alert-time mono");
    time.setAttribute("datetime", a.raised_at);
    time.title = t("alerts.raised_title");
    head.append(time);
    return head;
  }

  private row(a: Alert): HTMLLIElement {
    const li = document.createElement("li");
    li.className = `alert-row alert-${a.severity}`;
    Object.assign(li.dataset, { testid: "alert-row", alertId: String(a.id), kind: a.kind, severity: a.severity,
      robotId: a.robot_id ?? "", active: String(a.active), acknowledged: String(a.acknowledged_at !== null) });
    const message = text("div", alertMessage(a), "alert-message");
    message.dataset.testid = "alert-message";
    const foot = text("div", "", "alert-foot");
    const state = a.active ? text("span", t("alerts.active"), "alert-state active")
      : text("span", t("alerts.cleared_at", { time: clock(a.cleared_at) }), "alert-state cleared");
    state.dataset.testid = "alert-state";
    foot.append(state);
    if (a.acknowledged_at !== null) {
      const acked = text("span", t("alerts.acknowledged_by", { user: a.acknowledged_by ?? "–",
        time: clock(a.acknowledged_at) }), "alert-acked");
      acked.dataset.testid = "alert-acknowledged";
      foot.append(acked);
    } else {
      foot.append(this.ackButton(a));
    }
    li.append(this.head(a), message, foot);
    return li;
  }

  private bannerItem(a: Alert): HTMLElement {
    const item = text("div", "", `alert-banner-item alert-${a.severity}`);
    Object.assign(item.dataset, { testid: "alert-banner-item", alertId: String(a.id), kind: a.kind,
      active: String(a.active) });
    const when = text("span", a.active ? clock(a.raised_at) : t("alerts.cleared_at", { time: clock(a.cleared_at) }),
      "alert-time mono");
    item.append(badge(a.severity, "severity"), text("strong", term("alerts.kind", a.kind), "alert-kind"),
      text("span", alertMessage(a), "alert-message"), when, this.ackButton(a));
    return item;
  }

  /** The panel's rows, newest first, and the banner: the newest unacknowledged banner alerts. An alert's row and
   * banner line are built again only when it changed (a button is not replaced under the pointer). */
  private draw(): void {
    const open = [...this.alerts.values()].sort(newestFirst);
    const drawn = open.map((a) => {
      const key = JSON.stringify(a);
      let kept = this.rows.get(a.id);
      if (kept?.key !== key) {
        kept = { key, li: this.row(a) };
        this.rows.set(a.id, kept);
      }
      if (a.banner && a.acknowledged_at === null) kept.banner ??= this.bannerItem(a);
      return kept;
    });
    for (const id of this.rows.keys()) if (!this.alerts.has(id)) this.rows.delete(id);
    place($("#alert-list"), drawn.map((d) => d.li));
    const count = $<HTMLElement>("#alerts-count");
    count.textContent = String(open.length);
    count.dataset.count = String(open.length);
    $<HTMLElement>("#alerts-empty").hidden = open.length > 0;

    const waiting = drawn.flatMap((d) => (d.banner ? [d.banner] : []));
    const banner = $<HTMLElement>("#alert-banner");
    banner.hidden = waiting.length === 0;
    banner.dataset.count = String(waiting.length);
    const more = $<HTMLElement>("#alert-banner-more");
    more.hidden = waiting.length <= BANNER_MAX;
    more.textContent = t("alerts.banner_more", { count: waiting.length - BANNER_MAX });
    place($("#alert-banner-items"), waiting.slice(0, BANNER_MAX));
  }

  /** A short beep (WebAudio), when the operator turned the sound on. */
  private beep(): void {
    if (!this.sound) return;
    try {
      this.audio ??= new AudioContext();
      const audio = this.audio;
      void audio.resume();
      const now = audio.currentTime;
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, now);
      gain.gain.exponentialRampToValueAtTime(0.2, now + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.25);
      tone.connect(gain).connect(audio.destination);
      tone.start(now);
      tone.stop(now + 0.3);
    } catch {
      /* no audio here: the banner says it */
    }
  }
}
