export interface Pose { x: number; y: number; yaw: number }
export interface Robot {
  id: string; kind: string; model: string; mode: string; pose: Pose;
  velocity: { linear: number; angular: number };
  battery: { percentage: number; charging: boolean };
  current_mission_id: number | null; last_seen: string; errors: string[];
}
export interface Place { name: string; x: number; y: number; yaw: number | null; kind: string }
export interface Lane { id: string; from: string; to: string; oneway: boolean; speed_limit: number | null }
export interface SiteMap {
  site: string;
  bounds: { min_x: number; min_y: number; max_x: number; max_y: number };
  walls: { name: string; polygon: [number, number][] }[];
  places: Place[]; lanes: Lane[]; zones: unknown[];
}
export interface ParamSpec { name: string; type: string; default: unknown; required: boolean; description: string }
export interface Template { name: string; description: string; robot_kind: string | null; capabilities: string[]; params: ParamSpec[] }

export type StepStatus = "pending" | "active" | "awaiting_confirmation" | "done" | "failed" | "skipped";
/** One step record of a mission, as stored: kind-specific fields are present only where they apply. */
export interface Step {
  index: number; kind: string; status: StepStatus | string;
  target?: string; action?: string; params?: Record<string, unknown>; seconds?: number; prompt?: string;
  places?: string[]; repeat?: number; zone?: string; spacing?: number; timeout?: number; retries?: number;
  started_at?: string | null; ended_at?: string | null; message?: string | null; attempt?: number;
}
export interface MissionEvent {
  time: string; sim_time: number | null; kind: string; status: string | null; step_index: number | null; message: string;
}
export interface Mission {
  id: number; status: string; robot_id: string | null; requested_robot_id?: string | null; template: string | null;
  params: Record<string, unknown>; priority: string; steps: Step[]; route: string[];
  created_at: string; assigned_at?: string | null; started_at?: string | null; ended_at: string | null;
  not_before?: string | null; failure_reason: string | null; duration_s?: number | null; distance_m?: number | null;
  events?: MissionEvent[] | null;
}
export interface MissionEventFrame {
  type: "mission_event"; mission_id: number; status: string; robot_id: string | null; message: string;
  time: string; sim_time: number | null; mission: Mission;
}
/** A step changed status; with status null it is a note on the step (e.g. "step 3 confirmed"). */
export interface MissionStepFrame {
  type: "mission_step"; mission_id: number; step_index: number; status: string | null; message: string;
  time: string; sim_time: number | null;
}
/** A note on the mission's record that changes neither its status nor a step's. */
export interface MissionInfoFrame {
  type: "mission_info"; mission_id: number; step_index: number | null; message: string;
  time: string; sim_time: number | null;
}
export type Frame = ({ type: "robot_state" } & Robot) | MissionEventFrame | MissionStepFrame | MissionInfoFrame;
export interface DispatchState { paused: boolean }
