// Links to files the API serves (a mission's recording, a pilot's report and CSV): a plain link cannot send the
// token, so a click fetches the file with it, then saves it or opens it in a new tab.
import { file } from "./api";
import { t } from "./i18n";
import { reportError } from "./messages";

const BASE = "/api/v1";

export function fileLink(link: HTMLAnchorElement, open = false): HTMLAnchorElement {
  link.addEventListener("click", (event) => {
    const href = link.getAttribute("href");
    if (!href?.startsWith(`${BASE}/`)) return; // disabled (no href), or not the API's
    event.preventDefault();
    const tab = open ? window.open("", "_blank") : null; // opened now, while the click still counts
    file(href.slice(BASE.length)).then(({ blob, name }) => {
      const url = URL.createObjectURL(blob);
      if (tab) {
        tab.location.href = url;
      } else {
        const save = document.createElement("a");
        save.href = url;
        save.download = name ?? (link.download || href.split("/").pop() || "download");
        save.click();
      }
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    }).catch((err: unknown) => {
      tab?.close();
      reportError(t("recording.fetching", { href }), err);
    });
  });
  return link;
}
