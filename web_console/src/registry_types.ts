// The robot registry as the API gives and takes it (fleet_manager/robots/schemas.py: RobotCreate, RobotUpdate,
// RegistrationPublic, Vda5050Public).
import type { Adapter } from "./types";

export const ADAPTERS: Adapter[] = ["labfleet", "nav2", "vda5050"];

/** How to reach the robot: only the fields of its adapter (the API refuses the others). */
export interface Connection {
  namespace?: string; tf_topic?: string; tf_static_topic?: string; map_frame?: string; base_frame?: string;
  manufacturer?: string; serial_number?: string; map_id?: string;
}
export type ConnectionField = keyof Connection;
export const CONNECTION_FIELDS: Record<Adapter, ConnectionField[]> = {
  labfleet: ["namespace"],
  nav2: ["namespace", "tf_topic", "tf_static_topic", "map_frame", "base_frame"],
  vda5050: ["manufacturer", "serial_number", "map_id"],
};

export interface ActionSpec { duration_s: number; success_rate: number }
export interface RobotModelSpec {
  name: string; kind: string; radius: number; max_speed: number; capabilities: string[]; battery_capacity_wh: number;
  mass_kg?: number; max_accel?: number; max_decel?: number; max_yaw_rate?: number; max_yaw_accel?: number;
  idle_power_w?: number; drive_power_w?: number; actions?: Record<string, ActionSpec>;
}
export interface MapTransform { x: number; y: number; yaw: number; scale: number }

export interface Registration {
  id: string; site: string; name: string; adapter: Adapter; connection: Connection; model: RobotModelSpec;
  map_transform: MapTransform; home: string | null; charger: string | null; source: "fleet.yaml" | "api";
  created_at: string; updated_at: string; retired_at: string | null;
}

/** POST /robots; PATCH /robots/{id} takes the same fields but the id (each optional), plus the clear flags. */
export interface RobotCreate {
  id: string; name?: string; adapter: Adapter | ""; connection: Connection; model: Partial<RobotModelSpec>;
  map_transform: Partial<MapTransform>; home?: string; charger?: string;
}
export type RobotUpdate = Omit<RobotCreate, "id"> & { clear_home?: boolean; clear_charger?: boolean };

// -- a VDA 5050 vehicle (GET /robots/{id}/vda5050; fleet_manager/adapters/vda5050_vehicles.py) ------------------
export interface VdaError {
  errorType: string; errorLevel: string; errorDescription?: string;
  errorReferences?: { referenceKey: string; referenceValue: string }[];
}
export interface VdaActionState {
  actionId: string; actionType?: string; actionStatus: string; actionDescription?: string; resultDescription?: string;
}
export interface VdaFactsheet {
  typeSpecification: { seriesName: string; seriesDescription?: string; agvKinematic: string; agvClass: string;
    maxLoadMass?: number };
  physicalParameters: { speedMax?: number; width?: number; length?: number };
  protocolLimits: unknown;
  agvActions: string[];
}
export interface VdaStatus {
  manufacturer: string; serialNumber: string; mapId: string; connection: string | null; online: boolean;
  estopped: boolean; orderId: string | null; orderUpdateId: number | null; lastNodeId: string | null;
  newBaseRequest: boolean; errors: VdaError[]; actionStates: VdaActionState[];
}
export interface Vda5050View { factsheet: VdaFactsheet | null; status: VdaStatus }
