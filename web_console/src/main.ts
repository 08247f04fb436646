import "./style.css";
import { AlertsView } from "./alerts";
import { api, telemetryProtocols, telemetryUrl } from "./api";
import { DetailView } from "./detail";
import { DispatchForm } from "./dispatch";
import { $, text } from "./dom";
import { LANG_NAMES, LANGS, lang, setLang, setTimeZone, t, term, timeZone, translatePage, type Lang } from "./i18n";
import { setUpLogin, signIn } from "./login";
import { MapView, MODE_COLORS, type TrafficView } from "./map";
import { MapPanel } from "./map_panel";
import { reportError, showMessage } from "./messages";
import { PilotsView } from "./pilots";
import { AUDIT_HASH, AuditView } from "./audit";
import { PlaybackView } from "./playback";
import { ReplayPanel } from "./replay";
import { DispatchSwitch, loadMissions, QueueView } from "./queue";
import { RegistryView, ROBOTS_HASH } from "./registry";
import { RobotsView } from "./robots";
import { accessToken, refreshTokens, signedOut, whenSignedIn } from "./session";
import { MissionStore } from "./store";
import type { Robot, SiteMap, Template, TelemetryFrame } from "./types";

const store = new MissionStore();
const robots = new RobotsView();
const alerts = new AlertsView();

function connect(map: MapView, form: DispatchForm, detail: DetailView, dispatch: DispatchSwitch, attempt = 0): void {
  const status = $<HTMLElement>("#ws-status");
  const token = accessToken();
  const ws = new WebSocket(telemetryUrl(), telemetryProtocols());
  let everOpen = false;
  ws.onopen = () => {
    everOpen = true;
    status.textContent = t("page.ws_live");
    status.dataset.state = "live";
    if (attempt > 0) {  // frames were missed while down: catch up
      loadMissions(store).catch((err) => reportError(t("page.reloading_missions"), err));
      void dispatch.refresh();
      void alerts.load();
      if (detail.selected !== null) void detail.open(detail.selected);
    }
  };
  ws.onmessage = (event) => {
    const frame = JSON.parse(event.data) as TelemetryFrame;
    if (frame.type === "robot_states") {
      for (const robot of frame.states) {
        const known = robots.robots.get(robot.id);
        if (!known || known.kind !== robot.kind || known.registration !== robot.registration) form.setRobots([robot]);
        robots.update(robot);
        map.update(robot);
      }
      return;
    }
    if (frame.type === "alert") {
      alerts.update(frame.alert);
      return;
    }
    if (!("mission_id" in frame)) return; // a frame type this console does not know yet
    if (frame.type === "mission_event") {
      const known = store.get(frame.mission_id);
      if (frame.mission) store.upsert(frame.mission);
      else if (known) store.upsert({ ...known, status: frame.status, robot_id: frame.robot_id });
    }
    else if (frame.type === "mission_step") store.applyStep(frame);
    detail.onFrame(frame);
  };
  ws.onclose = (event) => {
    status.textContent = t("page.ws_reconnecting");
    status.dataset.state = "down";
    const next = everOpen ? 1 : attempt + 1;
    const again = () => connect(map, form, detail, dispatch, next);
    if (event.code === 4403) { // the user may not see this site: no point in asking again
      status.textContent = t("page.ws_refused");
      showMessage(t("page.live_feed_refused", { reason: event.reason || t("page.no_access_to_site") }));
      return;
    }
    if (event.code === 4401) { // the token expired or was refused: refreshed once, else the login form
      void refreshTokens(token).then((ok) => {
        if (!ok) signedOut("the live feed refused the token");
        return whenSignedIn();
      }).then(again);
      return;
    }
    setTimeout(again, Math.min(10_000, 500 * 2 ** (next - 1)));
  };
}

async function pollHealth(): Promise<void> {
  try {
    const h = await api<{ sim_time: number | null }>("/health");
    $("#sim-time").textContent = h.sim_time === null ? "–" : `${h.sim_time.toFixed(1)} s`;
  } catch {
    $("#sim-time").textContent = "–";
  }
}

async function start(): Promise<void> {
  const sites = await api<{ site: string; active: boolean }[]>("/sites");
  const site = sites.find((s) => s.active)?.site ?? sites[0]?.site;
  $("#site-name").textContent = site ?? t("page.no_site");
  const [siteMap, templates, robotList] = await Promise.all([
    api<SiteMap>(`/sites/${site}/map`), api<Template[]>("/mission-templates"), api<Robot[]>("/robots"),
    loadMissions(store),
  ]);
  setTimeZone(siteMap.timezone);
  void alerts.load(); // (its times in the site's zone)
  $("#dispatch [data-i18n='ops.not_before']").textContent = `${t("ops.not_before")} (${timeZone()})`;
  const map = new MapView($("#map"), siteMap);
  // zoom and pan, the robot card, the fleet-wide stop (issue 18); a mission opened from a card shows in its detail
  new MapPanel(map, store, robots.robots, siteMap, (id) => { queue?.select(id); void detail.open(id); });
  for (const r of robotList) {
    robots.update(r);
    map.update(r);
  }
  const zones = (siteMap.zones as { name?: unknown }[])
    .map((z) => z.name)
    .filter((name): name is string => typeof name === "string");
  const form = new DispatchForm(templates, siteMap.places.map((p) => p.name).sort(), store, zones);
  form.setRobots(robotList);
  let queue: QueueView | null = null;
  const detail = new DetailView(store, () => queue?.select(null));
  queue = new QueueView(store, (id) => {
    queue?.select(id);
    void detail.open(id);
  });
  queue.render();
  const dispatch = new DispatchSwitch();
  void dispatch.refresh();
  $("#legend").replaceChildren(...Object.entries(MODE_COLORS).filter(([m]) => m !== "error").map(([mode, color]) => {
    const item = text("span", term("mode", mode), "legend-item");
    item.style.setProperty("--c", color);
    return item;
  }));
  connect(map, form, detail, dispatch);
  void pollHealth();
  setInterval(pollHealth, 1000);
  const pollTraffic = async (): Promise<void> => {
    try {
      map.showTraffic(await api<TrafficView>(`/sites/${site}/traffic`));
    } catch {
      /* the next poll draws it; the health badge reports a lost connection */
    }
  };
  void pollTraffic();
  setInterval(() => void pollTraffic(), 1000);
  setInterval(() => void dispatch.refresh(), 5000); // another operator may pause or resume dispatch
  // robots registered (offline until they report) or retired since: no frame tells, the list does
  setInterval(() => void api<Robot[]>("/robots").then((list) => {
    for (const id of robots.sync(list)) map.remove(id);
    for (const r of list) if (r.pose === null) map.update(r); // not drawn; the others move with their frames
    form.setRobots(list, true);
  }).catch(() => undefined), 5000);
}

interface Views { pilots: PilotsView; playback: PlaybackView; resim: ReplayPanel; audit: AuditView; registry: RegistryView }

/** The view in the address: #/ the live operations, #/pilots the pilots, #/pilots/ID a pilot's dashboard,
 * #/missions/ID/playback a recorded mission played back, #/missions/ID/replay the same, at its re-simulation,
 * #/audit the audit log, #/robots the robot registry. */
function route({ pilots, playback, resim, audit, registry }: Views): void {
  const replay = /^#\/missions\/(\d+)\/(playback|replay)\/?$/.exec(location.hash);
  const match = /^#\/pilots(?:\/([^/]+))?\/?$/.exec(location.hash);
  const view = replay ? "playback" : match ? "pilots" : AUDIT_HASH.test(location.hash) ? "audit"
    : ROBOTS_HASH.test(location.hash) ? "robots" : "ops";
  $<HTMLElement>("#ops-view").hidden = view !== "ops";
  $<HTMLElement>("#pilots-view").hidden = view !== "pilots";
  if (view === "audit") audit.show(); else audit.hide();
  if (view === "robots") registry.show(); else registry.hide();
  $<HTMLElement>("#playback-view").hidden = view !== "playback";
  for (const a of document.querySelectorAll<HTMLElement>("nav.views a")) {
    a.classList.toggle("active", a.dataset.view === view);
  }
  if (replay) void playback.show(Number(replay[1])).then(() => { if (replay[2] === "replay") resim.focus(); });
  else playback.hide();
  if (!match) {
    pilots.hide();
    return;
  }
  let pilotId: string | null = null;
  try {
    pilotId = match[1] ? decodeURIComponent(match[1]) : null;
  } catch {
    showMessage(t("page.no_such_pilot_address", { address: location.hash }));
  }
  void pilots.show(pilotId);
}

/** Signs in (the token kept, or the login form), then starts the views. */
/** The language switch of the top bar: the console's language, remembered. */
function setUpLanguage(): void {
  const select = $<HTMLSelectElement>("#lang-switch");
  select.replaceChildren(...LANGS.map((l) => {
    const option = text("option", LANG_NAMES[l]) as HTMLOptionElement;
    option.value = l;
    option.selected = l === lang();
    return option;
  }));
  select.addEventListener("change", () => setLang(select.value as Lang));
}

async function boot(): Promise<void> {
  translatePage();
  setUpLanguage();
  setUpLogin();
  await signIn();
  const pilots = new PilotsView();
  const playback = new PlaybackView();
  const resim = new ReplayPanel(playback);
  const views = { pilots, playback, resim, audit: new AuditView(), registry: new RegistryView() };
  window.addEventListener("hashchange", () => route(views));
  route(views);
  await start();
}

boot().catch((err) => {
  document.body.prepend(text("div", t("page.cannot_start", { reason: (err as Error).message }), "fatal"));
});
