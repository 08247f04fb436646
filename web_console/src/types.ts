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
export interface Step { index: number; kind: string; target?: string; action?: string; status: string }
export interface Mission {
  id: number; status: string; robot_id: string | null; template: string | null; params: Record<string, unknown>;
  priority: string; steps: Step[]; route: string[]; created_at: string; ended_at: string | null;
  failure_reason: string | null;
}
export type Frame =
  | ({ type: "robot_state" } & Robot)
  | { type: "mission_event"; mission_id: number; status: string; mission: Mission }
  | { type: "mission_step"; mission_id: number; step_index: number; status: string };
