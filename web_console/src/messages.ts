// The message area: every refusal or failure the API reports, shown until the operator dismisses it.
import { reason, SignedOut } from "./api";
import { $, text } from "./dom";
import { t } from "./i18n";

const KEEP = 6;

export function showMessage(message: string, kind: "error" | "info" = "error"): void {
  const area = $<HTMLElement>("#messages");
  const item = text("div", "", `message message-${kind}`);
  item.dataset.testid = "message";
  item.append(text("span", message));
  const close = text("button", "×", "dismiss") as HTMLButtonElement;
  close.type = "button";
  close.title = t("messages.dismiss");
  close.addEventListener("click", () => item.remove());
  item.append(close);
  area.prepend(item);
  while (area.children.length > KEEP) area.lastElementChild?.remove();
}

/** Shows why a request failed, prefixed by what the operator was doing. */
export function reportError(what: string, err: unknown): void {
  if (err instanceof SignedOut) return; // the login form says so
  showMessage(`${what}: ${reason(err)}`);
}
