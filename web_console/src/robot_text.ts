// What the robot list of the operations view and a robot's detail say, in one place (the catalogue to come:
// en now, ko later). Sentences with values are functions of named values, never assembled from fragments.
import type { Adapter } from "./types";

export const ADAPTER_LABEL: Record<Adapter, string> = { labfleet: "agent", nav2: "Nav2", vda5050: "VDA 5050" };
export const ADAPTER_TITLE: Record<Adapter, string> = {
  labfleet: "driven by the LabFleet agent on the robot",
  nav2: "driven through the robot's own Nav2",
  vda5050: "a VDA 5050 vehicle, ordered over MQTT",
};

export const ROBOT_TEXT = {
  pause: "Pause",
  resume: "Resume",
  estop: "E-stop",
  release: "Release",
  detailsLabel: (id: string) => `Details of ${id}`,
  detailsTitle: (id: string) => `Show or hide the details of ${id}: what its e-stop does, and its status`,
  unregistered: "unregistered — not dispatched",
  unregisteredTitle: "This robot reports to the fleet manager, but no admin registered it: it is never dispatched " +
    "and takes no commands. An admin registers it on the Robots page.",
  notCommanded: "This robot is not registered: it takes no commands.",
  localisationLost: "localisation lost",
  localisationLostTitle: "Its map pose is missing or stale: it is not dispatched, and its mission is held.",
  offlineNoPose: "never reported",
  offlineNoPoseTitle: "It has not reported a pose since it was registered, so it is not drawn on the map.",
  noValue: "–",
  battery: (percent: string) => `${percent}%`,
  mission: (id: number) => `#${id}`,
  commandDone: (id: string, message: string) => `${id}: ${message}`,
  commandRefused: (id: string, command: string, result: string, message: string) =>
    `${command} ${id} was not carried out (${result}): ${message}`,
  commandFailed: (id: string, command: string) => `${command} ${id}`,
};

/** What an e-stop does on a robot of each adapter: said where the E-stop button is explained. */
export const ESTOP_NOTE: Partial<Record<Adapter, string>> = {
  nav2: "Nav2 has no remote e-stop: E-stop cancels the robot's navigation and holds it until Release. " +
    "For safety, use the robot's own emergency stop.",
  vda5050: "VDA 5050 has no remote e-stop: E-stop pauses the vehicle and cancels its order (its mission fails), " +
    "and holds it until Release. For safety, use the vehicle's own emergency stop.",
};

export const DETAIL_TEXT = {
  loading: "Asking the vehicle…",
  unavailable: (why: string) => `The vehicle's status could not be read: ${why}`,
  noFactsheet: "The vehicle has not sent its factsheet yet.",
  type: "Type",
  typeValue: (series: string, agvClass: string, kinematic: string) => `${series} (${agvClass}, ${kinematic})`,
  vehicle: "Vehicle",
  vehicleValue: (manufacturer: string, serial: string, map: string) => `${manufacturer} ${serial}, map ${map}`,
  connection: "Connection",
  online: "online",
  offline: "offline",
  estopped: "held by an e-stop",
  order: "Order",
  orderValue: (order: string, update: number, node: string) => `${order} (update ${update}), last node ${node}`,
  noOrder: "none",
  noNode: "none yet",
  errors: "Errors",
  noErrors: "No errors.",
  errorHead: ["Type", "Level", "Description"],
  actions: "Action states",
  noActions: "No actions yet.",
  actionHead: ["Action", "Status", "Result"],
  refreshed: (time: string) => `Refreshed every 2 s while open; last at ${time}.`,
  nav2: "Nav2 robot",
  agent: "LabFleet agent",
};
