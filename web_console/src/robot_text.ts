// What the robot list of the operations view and a robot's detail say, in one place: the messages of the
// operations catalogue (src/locales/<lang>/operations.json), read when shown. Sentences with values are messages
// with named placeholders, never assembled from fragments.
import { t } from "./i18n";
import type { Adapter } from "./types";

export const ADAPTER_LABEL: Record<Adapter, string> = {
  get labfleet() { return t("operations.adapter_agent"); },
  nav2: "Nav2",
  vda5050: "VDA 5050",
};
export const ADAPTER_TITLE: Record<Adapter, string> = {
  get labfleet() { return t("operations.adapter_labfleet_title"); },
  get nav2() { return t("operations.adapter_nav2_title"); },
  get vda5050() { return t("operations.adapter_vda5050_title"); },
};

export const ROBOT_TEXT = {
  get pause() { return t("operations.pause"); },
  get resume() { return t("operations.resume"); },
  get estop() { return t("operations.estop"); },
  get release() { return t("operations.release"); },
  detailsLabel: (id: string) => t("operations.robot_details_label", { id }),
  detailsTitle: (id: string) => t("operations.robot_details_title", { id }),
  get unregistered() { return t("operations.unregistered"); },
  get unregisteredTitle() { return t("operations.unregistered_title"); },
  get notCommanded() { return t("operations.not_commanded"); },
  get localisationLost() { return t("operations.localisation_lost"); },
  get localisationLostTitle() { return t("operations.localisation_lost_title"); },
  get offlineNoPose() { return t("operations.never_reported"); },
  get offlineNoPoseTitle() { return t("operations.never_reported_title"); },
  noValue: "–",
  battery: (percent: string) => `${percent}%`,
  mission: (id: number) => `#${id}`,
  commandDone: (id: string, message: string) => `${id}: ${message}`,
  commandRefused: (id: string, command: string, result: string, message: string) =>
    t("operations.command_refused", { id, command, result, message }),
  commandFailed: (id: string, command: string) => t("operations.command_failed", { id, command }),
};

/** What an e-stop does on a robot of each adapter: said where the E-stop button is explained. */
export const ESTOP_NOTE: Partial<Record<Adapter, string>> = {
  get nav2() { return t("operations.estop_note_nav2"); },
  get vda5050() { return t("operations.estop_note_vda5050"); },
};

export const DETAIL_TEXT = {
  get loading() { return t("operations.vda_loading"); },
  unavailable: (why: string) => t("operations.vda_unavailable", { reason: why }),
  get noFactsheet() { return t("operations.vda_no_factsheet"); },
  get type() { return t("operations.vda_type"); },
  typeValue: (series: string, agvClass: string, kinematic: string) => `${series} (${agvClass}, ${kinematic})`,
  get vehicle() { return t("operations.vda_vehicle"); },
  vehicleValue: (manufacturer: string, serial: string, map: string) =>
    t("operations.vda_vehicle_value", { manufacturer, serial, map }),
  get connection() { return t("operations.vda_connection"); },
  get online() { return t("operations.vda_online"); },
  get offline() { return t("operations.vda_offline"); },
  get estopped() { return t("operations.vda_estopped"); },
  get order() { return t("operations.vda_order"); },
  orderValue: (order: string, update: number, node: string) => t("operations.vda_order_value", { order, update, node }),
  get noOrder() { return t("operations.vda_no_order"); },
  get noNode() { return t("operations.vda_no_node"); },
  get errors() { return t("operations.vda_errors"); },
  get noErrors() { return t("operations.vda_no_errors"); },
  get errorHead() {
    return [t("operations.vda_col_type"), t("operations.vda_col_level"), t("operations.vda_col_description")];
  },
  get actions() { return t("operations.vda_actions"); },
  get noActions() { return t("operations.vda_no_actions"); },
  get actionHead() {
    return [t("operations.vda_col_action"), t("operations.vda_col_status"), t("operations.vda_col_result")];
  },
  refreshed: (time: string) => t("operations.vda_refreshed", { time }),
  get nav2() { return t("operations.nav2_robot"); },
  get agent() { return t("operations.labfleet_agent"); },
};
