// The pilot report's plotly figures, drawn with the plotly.js release the report inlines (the package's
// plotly.min.js, emitted by Vite as it is: no re-bundling of its 4.7 MB). It is loaded on first use, so the
// operations view never fetches it.
import type { Config, Data, Layout } from "plotly.js-dist-min";
import type PlotlyModule from "plotly.js-dist-min";
import plotlyUrl from "plotly.js-dist-min/plotly.min.js?url";
import { t } from "./i18n";
import { showMessage } from "./messages";
import type { PilotCharts } from "./types";

type Plotly = typeof PlotlyModule & { version: string };
declare global {
  interface Window { Plotly?: Plotly }
}

let loading: Promise<Plotly> | null = null;
let warned = false;

function plotly(): Promise<Plotly> {
  // the UMD bundle run as a module: it sets window.Plotly
  loading ??= import(/* @vite-ignore */ plotlyUrl).then(() => {
    if (!window.Plotly) throw new Error(t("dashboard.plotly_undefined", { url: plotlyUrl }));
    return window.Plotly;
  }).catch((err: unknown) => {
    loading = null; // try again next time
    throw err;
  });
  return loading;
}

/** Draws (or redraws in place) each chart into the element of its id under `root`. */
export async function drawCharts(root: HTMLElement, answer: PilotCharts): Promise<void> {
  const lib = await plotly();
  if (lib.version !== answer.plotlyjs_version && !warned) {
    warned = true;
    showMessage(t("dashboard.plotly_version", { version: lib.version, expected: answer.plotlyjs_version }), "info");
  }
  await Promise.all(answer.charts.map(async (chart) => {
    const el = root.querySelector<HTMLElement>(`[data-chart="${CSS.escape(chart.id)}"]`);
    if (!el) return;
    // the figure JSON plotly (Python) wrote, as plotly.js takes it
    await lib.react(el, chart.figure.data as Data[], chart.figure.layout as Partial<Layout>,
      answer.config as Partial<Config>);
    el.dataset.drawn = "true";
  }));
}

/** Frees what plotly.js holds for the charts under `root` (their listeners and WebGL contexts). */
export function purgeCharts(root: HTMLElement): void {
  const drawn = [...root.querySelectorAll<HTMLElement>("[data-chart]")];
  if (!loading || !drawn.length) return;
  void loading.then((lib) => drawn.forEach((el) => lib.purge(el))).catch(() => undefined);
}
