// The fleet-wide stop by the live map (issue 18): "Stop all" asks in the page (no browser dialog) and, confirmed,
// e-stops every robot that reports (POST /robots/estop-all). Each robot's answer reaches the message area; each is
// then released one by one, with its Release button.
import { post } from "./api";
import { $ } from "./dom";
import { t } from "./i18n";
import { reportError, showMessage } from "./messages";
import { type CommandAnswer } from "./robots";
import { ROBOT_TEXT } from "./robot_text";
import { gate } from "./session";

export class FleetStop {
  private readonly open = $<HTMLButtonElement>("#fleet-stop");
  private readonly box = $<HTMLElement>("#fleet-stop-confirm");
  private readonly go = $<HTMLButtonElement>("#fleet-stop-go");
  private readonly cancel = $<HTMLButtonElement>("#fleet-stop-cancel");

  constructor() {
    gate(this.open, "operator");
    gate(this.go, "operator");
    this.open.addEventListener("click", () => this.ask());
    this.cancel.addEventListener("click", () => this.hide());
    this.go.addEventListener("click", () => void this.stop());
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && !this.box.hidden) this.hide();
    });
  }

  private ask(): void {
    this.box.hidden = false;
    this.open.setAttribute("aria-expanded", "true");
    this.cancel.focus({ preventScroll: true }); // Enter alone does not stop the fleet
  }

  private hide(): void {
    this.box.hidden = true;
    this.open.setAttribute("aria-expanded", "false");
  }

  private async stop(): Promise<void> {
    this.go.disabled = true;
    try {
      const answers = await post<CommandAnswer[]>("/robots/estop-all");
      const stopped = answers.filter((a) => a.result === "ok");
      if (!answers.length) showMessage(t("map.fleet_stop_none"), "info");
      else if (stopped.length) {
        showMessage(t("map.fleet_stop_done", { count: stopped.length, robots: stopped.map((a) => a.robot_id).join(", ") }),
          "info");
      }
      for (const a of answers.filter((x) => x.result !== "ok")) {
        showMessage(ROBOT_TEXT.commandRefused(a.robot_id, ROBOT_TEXT.estop, a.result, a.message));
      }
      this.hide();
    } catch (err) {
      reportError(t("map.fleet_stop_failed"), err);
    } finally {
      this.go.disabled = false;
      gate(this.go, "operator");
    }
  }
}
