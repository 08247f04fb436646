// What the Robots page (the robot registry) and its form say, in one place (the catalogue to come: en now, ko
// later). Sentences with values are functions of named values, never assembled from fragments.
import type { ConnectionField } from "./registry_types";
import type { Adapter } from "./types";

export const PAGE = {
  title: "Robots",
  intro: "The robots registered at this site: how the fleet manager reaches each one, its model, where its map " +
    "sits on the site map, its home and charger, and how it is doing now. Changes take effect at once.",
  adminOnly: (user: string, role: string) =>
    `Only admins change the registry; ${user} is signed in as ${role}, so the controls are disabled.`,
  add: "Add a robot",
  showRetired: "Show retired robots",
  registered: "Registered robots",
  unregistered: "Announced, not registered",
  unregisteredHint: "These robots report to the fleet manager but no admin registered them: they are never " +
    "dispatched. Register one to put it to work.",
  noUnregistered: "Every robot that reports is registered.",
  noRobots: "No robots are registered at this site.",
  loading: "Loading the registry…",
  loadFailed: (why: string) => `The registry could not be loaded: ${why}`,
  counts: (active: number, retired: number, unregistered: number) =>
    `${active} registered, ${retired} retired, ${unregistered} announced without registration.`,
  countsNoRetired: (active: number, unregistered: number) =>
    `${active} registered, ${unregistered} announced without registration.`,
  edit: "Edit",
  retire: "Retire",
  register: "Register",
  editTitle: (id: string) => `Edit the registration of ${id}`,
  retireTitle: (id: string) => `Retire ${id}: it is never dispatched again`,
  registerTitle: (id: string) => `Register ${id} so that it is dispatched`,
  retired: (when: string) => `retired ${when}`,
  retiredId: "Retired here: its id cannot be registered again.",
  sourceYaml: "fleet.yaml",
  sourceApi: "api",
  sourceYamlTitle: "Seeded from the site's fleet.yaml, and refreshed from it at start-up until an admin edits it.",
  sourceApiTitle: "Registered or last edited by an admin.",
  identity: "identity",
  none: "–",
  neverSeen: "never reported",
  localisationLost: "localisation lost",
  lastSeen: (when: string) => `seen ${when}`,
  battery: (percent: string) => `battery ${percent}%`,
  footprint: (radius: string) => `r ${radius} m`,
  speed: (speed: string) => `${speed} m/s`,
  transform: (x: string, y: string, yaw: string, scale: string) => `x ${x} m, y ${y} m, yaw ${yaw} rad, scale ${scale}`,
  saved: (id: string) => `${id} was saved.`,
  registeredOk: (id: string) => `${id} was registered.`,
  retiredOk: (id: string) => `${id} was retired. Its missions, incidents and recordings stay.`,
  retireFailed: (id: string) => `retiring ${id}`,
  formFailed: "opening the robot form",
};

export const COLUMNS = ["Robot", "Adapter", "Model", "Footprint", "Max speed", "Map transform", "Home", "Charger",
  "Source", "Status", ""];
export const UNREGISTERED_COLUMNS = ["Robot", "Adapter", "Reports as", "Status", ""];

export const CONFIRM = {
  title: (id: string) => `Retire ${id}?`,
  body: (id: string) => `${id} will never be dispatched again and its adapter lets go of it. Its missions, ` +
    "incidents and recordings stay, and it can be listed with “Show retired robots”. A retired id cannot be " +
    "registered again.",
  retire: "Retire",
  keep: "Keep it",
};

export const FORM = {
  addTitle: "Add a robot",
  editTitle: (id: string) => `Edit ${id}`,
  registerTitle: (id: string) => `Register ${id}`,
  robot: "Robot",
  adapter: "Adapter",
  adapterChoose: "— choose —",
  adapterHint: "Choose the adapter first: the connection fields depend on it.",
  adapterNeeded: "Choose how the fleet manager reaches the robot.",
  adapterOption: { labfleet: "labfleet — the LabFleet agent", nav2: "nav2 — the robot's own Nav2",
    vda5050: "vda5050 — a VDA 5050 vehicle over MQTT" } as Record<Adapter, string>,
  id: "Id",
  idHint: "Lower case letters, digits and _; it cannot change later.",
  name: "Name",
  namePlaceholder: "the id",
  connection: "Connection",
  connectionOf: { labfleet: "Connection (LabFleet agent)", nav2: "Connection (Nav2)",
    vda5050: "Connection (VDA 5050)" } as Record<Adapter, string>,
  connectionFirst: "Choose the adapter to see its connection settings.",
  connectionField: {
    namespace: "ROS namespace", tf_topic: "TF topic", tf_static_topic: "Static TF topic", map_frame: "Map frame",
    base_frame: "Base frame", manufacturer: "Manufacturer", serial_number: "Serial number", map_id: "Map id",
  } as Record<ConnectionField, string>,
  connectionDefault: {
    namespace: "/<id>", tf_topic: "/tf", tf_static_topic: "/tf_static", map_frame: "map (or <id>/map)",
    base_frame: "<id>/base_link", manufacturer: "LabFleet", serial_number: "the id", map_id: "the site's name",
  } as Record<ConnectionField, string>,
  model: "Model",
  preset: "Start from the model of",
  presetNone: "— type the model in —",
  presetOption: (model: string, kind: string, robot: string) => `${model} (${kind}), as ${robot}`,
  modelName: "Model name",
  kind: "Kind",
  kindHint: "delivery, guide, amr, cleaning, patrol, manipulator, …",
  radius: "Footprint radius, m",
  maxSpeed: "Max speed, m/s",
  battery: "Battery capacity, Wh",
  capabilities: "Capabilities",
  capabilitiesHint: "comma-separated, e.g. tow_hitch, lift",
  more: "More model parameters (defaults apply when empty)",
  factsheetFills: "VDA 5050: what you leave empty of model name, kind, radius, max speed, acceleration and " +
    "deceleration is taken from the vehicle's factsheet (the vehicle must be online).",
  massKg: "Mass, kg",
  maxAccel: "Max acceleration, m/s²",
  maxDecel: "Max deceleration, m/s²",
  maxYawRate: "Max yaw rate, rad/s",
  maxYawAccel: "Max yaw acceleration, rad/s²",
  idlePower: "Idle power, W",
  drivePower: "Drive power, W",
  actionsKept: (names: string) => `Actions it can do (kept as they are): ${names}.`,
  placement: "On the site map",
  placementHint: "Where the robot's own map sits on the site map: site = scale · R(yaw) · p + (x, y).",
  x: "x, m",
  y: "y, m",
  yaw: "yaw, rad",
  scale: "scale",
  home: "Home",
  homeNone: "— none —",
  charger: "Charger",
  chargerNone: "— none —",
  chargerHint: "Without one, it goes to the nearest free charger when it needs one.",
  save: "Save",
  register: "Register",
  cancel: "Cancel",
  saving: "Saving…",
  refused: (why: string) => `Not saved: ${why}`,
  fixFields: "Not saved: correct the fields marked in red.",
};
