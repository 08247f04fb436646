"""Mission recordings: MCAP files in the ROS 2 profile (rosbag2 bag folders), written off the hot path."""

from fleet_manager.recording.retention import prune
from fleet_manager.recording.writer import MissionRecorder, RecorderOptions, RecordingStats, mission_metadata

__all__ = ["MissionRecorder", "RecorderOptions", "RecordingStats", "mission_metadata", "prune"]
