// A robot's detail under its row in the robot list, for robots reached through another fleet's protocol: what
// its e-stop does there (Nav2 and VDA 5050 have no remote e-stop) and, for a VDA 5050 vehicle, its factsheet,
// connection, order, errors and action states (GET /robots/{id}/vda5050, refreshed while the detail is open).
import { api, reason } from "./api";
import { cell, text } from "./dom";
import { term, timeOfDay } from "./i18n";
import type { Vda5050View, VdaActionState, VdaError } from "./registry_types";
import { DETAIL_TEXT as T, ESTOP_NOTE } from "./robot_text";
import type { Adapter } from "./types";

const REFRESH_MS = 2000;
const ACTIONS_SHOWN = 8; // the newest action states

function table(testid: string, heads: string[], rows: HTMLTableRowElement[], empty: string): HTMLElement {
  if (!rows.length) {
    const none = text("p", empty, "hint");
    none.dataset.testid = testid;
    none.dataset.empty = "true";
    return none;
  }
  const t = document.createElement("table");
  t.className = "grid events";
  t.dataset.testid = testid;
  const head = document.createElement("tr");
  head.append(...heads.map((h) => text("th", h)));
  t.createTHead().append(head);
  t.createTBody().append(...rows);
  return t;
}

function errorRow(e: VdaError): HTMLTableRowElement {
  const tr = document.createElement("tr");
  tr.dataset.testid = "vda-error";
  tr.dataset.level = e.errorLevel;
  const refs = (e.errorReferences ?? []).map((r) => `${r.referenceKey}=${r.referenceValue}`).join(", ");
  tr.append(cell(text("span", e.errorType, "mono")),
    cell(text("span", term("operations.vda_level", e.errorLevel), `badge vda-level-${e.errorLevel}`)),
    cell(text("span", [e.errorDescription ?? "", refs].filter(Boolean).join(" · "), "wrap")));
  return tr;
}

function actionRow(a: VdaActionState): HTMLTableRowElement {
  const tr = document.createElement("tr");
  tr.dataset.testid = "vda-action";
  tr.dataset.status = a.actionStatus;
  tr.title = a.actionId;
  tr.append(cell(text("span", a.actionType ?? a.actionId, "mono")),
    cell(text("span", term("operations.vda_action_status", a.actionStatus), `badge vda-action-${a.actionStatus}`)),
    cell(text("span", a.resultDescription ?? a.actionDescription ?? "", "wrap")));
  return tr;
}

function facts(items: [string, string][]): HTMLDListElement {
  const dl = document.createElement("dl");
  for (const [label, value] of items) dl.append(text("dt", label), text("dd", value));
  return dl;
}

export class RobotDetail {
  readonly element: HTMLElement;
  private readonly body: HTMLElement;
  private timer: number | null = null;

  constructor(readonly robotId: string, readonly adapter: Adapter) {
    this.element = text("div", "", "robot-detail summary");
    this.element.dataset.testid = "robot-detail";
    this.element.dataset.robotId = robotId;
    this.element.dataset.adapter = adapter;
    const note = ESTOP_NOTE[adapter];
    if (note) {
      const p = text("p", note, "estop-note");
      p.dataset.testid = "estop-note";
      this.element.append(p);
    }
    this.body = text("div", adapter === "vda5050" ? T.loading : "", "robot-detail-body");
    this.element.append(this.body);
  }

  /** Starts the refresh (VDA 5050 vehicles: what the vehicle last said, every 2 s). */
  open(): void {
    if (this.adapter !== "vda5050" || this.timer !== null) return;
    void this.load();
    this.timer = window.setInterval(() => {
      if (this.element.isConnected && this.element.offsetParent !== null) void this.load(); // not while hidden
    }, REFRESH_MS);
  }

  close(): void {
    if (this.timer !== null) window.clearInterval(this.timer);
    this.timer = null;
  }

  private async load(): Promise<void> {
    try {
      this.show(await api<Vda5050View>(`/robots/${encodeURIComponent(this.robotId)}/vda5050`));
    } catch (err) {
      this.element.dataset.state = "error";
      this.body.replaceChildren(text("p", T.unavailable(reason(err)), "error"));
    }
  }

  private show(view: Vda5050View): void {
    const { factsheet, status } = view;
    this.element.dataset.state = "ready";
    this.element.dataset.errors = String(status.errors.length);
    const type = factsheet?.typeSpecification;
    const connection = [status.connection ?? "", status.online ? T.online : T.offline,
      status.estopped ? T.estopped : ""].filter(Boolean).join(", ");
    const order = status.orderId ? T.orderValue(status.orderId, status.orderUpdateId ?? 0, status.lastNodeId || T.noNode)
      : T.noOrder;
    const list = facts([
      [T.type, type ? T.typeValue(type.seriesName, type.agvClass, type.agvKinematic) : T.noFactsheet],
      [T.vehicle, T.vehicleValue(status.manufacturer, status.serialNumber, status.mapId)],
      [T.connection, connection],
      [T.order, order],
    ]);
    list.dataset.testid = "vda-facts";
    const typeValue = list.querySelector("dd");
    if (typeValue) typeValue.dataset.testid = "vda-type";
    const actions = status.actionStates.slice(-ACTIONS_SHOWN).reverse();
    this.body.replaceChildren(list,
      text("h3", T.errors), table("vda-errors", T.errorHead, status.errors.map(errorRow), T.noErrors),
      text("h3", T.actions), table("vda-actions", T.actionHead, actions.map(actionRow), T.noActions),
      text("p", T.refreshed(timeOfDay(new Date())), "sub"));
  }
}
