export interface Pose { x: number; y: number; yaw: number }
export type Adapter = "labfleet" | "nav2" | "vda5050";
/** A robot as GET /robots and the robot_states frames give it (fleet_manager/robots/schemas.py RobotPublic): a
 * registered robot that never reported is offline without pose, velocity, battery or last_seen; a robot that
 * announced itself without being registered is `unregistered` and never dispatched. */
export interface Robot {
  id: string; name?: string; kind: string; model: string; mode: string;
  adapter?: Adapter | ""; registration?: "registered" | "unregistered"; localisation?: "ok" | "lost" | "unknown";
  pose: Pose | null;
  velocity: { linear: number; angular: number } | null;
  battery: { percentage: number; charging: boolean } | null;
  current_mission_id: number | null; last_seen: string | null; errors: string[];
}
export interface Place { name: string; x: number; y: number; yaw: number | null; kind: string }
export interface Lane { id: string; from: string; to: string; oneway: boolean; speed_limit: number | null }
export interface SiteMap {
  site: string;
  bounds: { min_x: number; min_y: number; max_x: number; max_y: number };
  walls: { name: string; polygon: [number, number][] }[];
  places: Place[]; lanes: Lane[]; zones: unknown[];
  timezone?: string; // the site's IANA time zone (its site.yaml): times show in it
  grid?: MapGrid | null; // an imported site's occupancy grid (GET /sites/{site}/map/grid), drawn under the map
}
/** Where the grid's PNG lies: `resolution` metres a pixel, its lower-left corner at `origin` [x, y, yaw]. */
export interface MapGrid { width: number; height: number; resolution: number; origin: [number, number, number] }
export interface ParamSpec { name: string; type: string; default: unknown; required: boolean; description: string }
/** A template's texts in one language (its file's `labels`); null: shown in English. */
export interface TemplateLabels {
  name: string | null; description: string | null;
  params: Record<string, { name: string | null; description: string | null }>;
}
export interface Template {
  name: string; description: string; robot_kind: string | null; capabilities: string[]; params: ParamSpec[];
  labels?: Record<string, TemplateLabels>;
}

export type StepStatus = "pending" | "active" | "awaiting_confirmation" | "done" | "failed" | "skipped";
/** One step record of a mission, as stored: kind-specific fields are present only where they apply. */
export interface Step {
  index: number; kind: string; status: StepStatus | string;
  target?: string; action?: string; params?: Record<string, unknown>; seconds?: number; prompt?: string;
  /** a confirm step's prompt in other languages (the template's labels) */
  prompt_labels?: Record<string, string>;
  places?: string[]; repeat?: number; zone?: string; spacing?: number; timeout?: number; retries?: number;
  started_at?: string | null; ended_at?: string | null; message?: string | null; attempt?: number;
  /** the message's code and params when it is a known text (translated like an event's) */
  message_code?: string | null; message_params?: Record<string, unknown> | null;
}
export interface MissionEvent {
  time: string; sim_time: number | null; kind: string; status: string | null; step_index: number | null; message: string;
  /** a known text's code (fleet_manager/missions/texts.py: "events.<code>" in the catalogues) and its params */
  code?: string | null; params?: Record<string, unknown> | null;
}
export interface Mission {
  id: number; status: string; robot_id: string | null; requested_robot_id?: string | null; template: string | null;
  params: Record<string, unknown>; priority: string; steps: Step[]; route: string[];
  created_at: string; assigned_at?: string | null; started_at?: string | null; ended_at: string | null;
  not_before?: string | null; failure_reason: string | null; status_reason?: string | null; duration_s?: number | null; distance_m?: number | null;
  events?: MissionEvent[] | null; move_aside?: boolean;
  /** the codes and params of the status and failure reasons when they are known texts (missions/texts.py) */
  status_code?: string | null; status_params?: Record<string, unknown> | null;
  failure_code?: string | null; failure_params?: Record<string, unknown> | null;
  /** Per mission by the pilot KPIs' formulas at the site's emission factors (null: not measured, no factor). */
  energy_wh?: number | null; energy_wh_per_km?: number | null; co2_g?: number | null; co2_avoided_g?: number | null;
  /** While it runs, over HTTP only: the time its robot needs for the steps left, and when that ends it. */
  remaining_s?: number | null; eta?: string | null;
}
export interface MissionEventFrame {
  type: "mission_event"; mission_id: number; status: string; robot_id: string | null; message: string;
  time: string; sim_time: number | null; mission: Mission; code?: string | null; params?: Record<string, unknown> | null;
}
/** A step changed status; with status null it is a note on the step (e.g. "step 3 confirmed"). */
export interface MissionStepFrame {
  type: "mission_step"; mission_id: number; step_index: number; status: string | null; message: string;
  time: string; sim_time: number | null; code?: string | null; params?: Record<string, unknown> | null;
}
/** A note on the mission's record that changes neither its status nor a step's. */
export interface MissionInfoFrame {
  type: "mission_info"; mission_id: number; step_index: number | null; message: string;
  time: string; sim_time: number | null; code?: string | null; params?: Record<string, unknown> | null;
}
/** An alert (fleet_manager/alerts/schemas.py AlertPublic): open while unacknowledged or still `active`. */
export interface Alert {
  id: number; site: string; key: string; kind: string; severity: string; banner: boolean;
  robot_id: string | null; mission_id: number | null; incident_id: string | null; message: string;
  text?: { key: string; params: Record<string, string> } | null; // the message as a catalogue entry
  raised_at: string; cleared_at: string | null; acknowledged_at: string | null; acknowledged_by: string | null;
  active: boolean;
}
/** An alert raised, cleared or acknowledged. */
export interface AlertFrame { type: "alert"; alert: Alert }
export type Frame = MissionEventFrame | MissionStepFrame | MissionInfoFrame;
/** The newest state of every robot that changed since the previous frame (wire version 2; a new stream's first
 * frame holds every robot). */
export interface RobotStatesFrame { type: "robot_states"; v: number; states: Robot[] }
/** Every frame of the telemetry socket the console knows: the robot states, the mission frames, the alerts. */
export type TelemetryFrame = RobotStatesFrame | Frame | AlertFrame;
export interface DispatchState { paused: boolean }

// -- pilots (fleet_manager/pilots/schemas.py, report.py) ------------------------------------------
export interface Pilot {
  id: string; site: string; name: string; description: string; period_start: string; period_end: string;
  robots: string[]; targets: Record<string, number>; is_default: boolean; created_at: string;
}
/** One KPI against its target; `met` is null when the KPI could not be computed. */
export interface TargetCheck { kpi: string; target: number; value: number | null; direction: "higher" | "lower"; met: boolean | null }
export interface PilotKpis {
  pilot_id: string; clock: "sim" | "wall"; now: number;
  kpis: Record<string, number | null | Record<string, number>>; targets: TargetCheck[]; notes: string[];
}
export interface Intervention {
  id: string; pilot_id: string; robot_id: string; mission_id: number | null; kind: string; source: string; reason: string;
  started_at: string; sim_started_at: number | null; ended_at: string | null; sim_ended_at: number | null;
  distance_m: number; open: boolean;
}
export interface Incident {
  id: string; pilot_id: string; robot_id: string; mission_id: number | null; severity: string; kind: string; source: string;
  time: string; sim_time: number | null; place: { x: number; y: number; name: string | null }; description: string;
}
/** A plotly figure as plotly (Python) writes it: Plotly.react(element, data, layout, config). */
export interface Figure { data: unknown[]; layout: Record<string, unknown> }
export interface PilotChart { id: string; title: string; figure: Figure }
export interface RobotRow { robot_id: string; missions: number; completed: number; distance_km: number; interventions: number; incidents: number }
export interface PilotCharts {
  pilot_id: string; plotlyjs_version: string; config: Record<string, unknown>; charts: PilotChart[]; robots: RobotRow[];
  kpi_terms?: Record<string, { name: string; definition: string; shown: string }>;
}
