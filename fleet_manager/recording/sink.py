"""The writing end of a recording: a rosbag2 bag folder holding one MCAP file and metadata.yaml.

Runs in the recorder's child process (`python -m fleet_manager.recording.sink`, fed batches of items
over stdin) or, for lock-step runs and tests, in a thread of the caller's process.

Layout, as `ros2 bag record -s mcap -o <folder>` leaves it (so `ros2 bag play <folder>`, rosbags'
AnyReader, Foxglove and mcap_ros2 all read it):
    <folder>/<folder>_0.mcap   profile "ros2", messages "cdr", schemas "ros2msg" (full concatenated
                               definitions), channel metadata offered_qos_profiles + topic_type_hash,
                               metadata records "labfleet_mission" (first) and "rosbag2" (last)
    <folder>/metadata.yaml     rosbag2 version 9 (Jazzy), written when the recording is closed
"""

from __future__ import annotations

import json
import logging
import os
import signal
import struct
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import version
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

import yaml
from mcap.well_known import MessageEncoding, SchemaEncoding
from mcap.writer import CompressionType, Writer
from rosbags.rosbag2.metadata import dump_qos_v9
from rosbags.serde import SerdeError

from fleet_manager.recording import messages
from fleet_manager.recording.messages import RAW, STATES, Codec, expand_states
from fleet_manager.recording.transport import read_frame

log = logging.getLogger(__name__)

METADATA_RECORD = "labfleet_mission"
ROSBAG2_VERSION = 9  # Jazzy's metadata.yaml version
_by_time = itemgetter(1)


@dataclass
class _Channel:
    id: int
    typename: str
    kind: int
    count: int = 0


class McapSink:
    def __init__(self, bag_dir: Path, metadata: Mapping[str, str], *, compression: str = "zstd",
                 chunk_size: int = 1 << 20, codec: Codec | None = None) -> None:
        self.bag_dir = bag_dir
        self.mcap_path = bag_dir / f"{bag_dir.name}_0.mcap"
        self._codec = codec or Codec()
        self._file: IO[bytes] = self.mcap_path.open("xb")
        self._writer = Writer(self._file, chunk_size=chunk_size, compression=CompressionType[compression.upper()])
        library = f"labfleet recorder; mcap-python {version('mcap')}; rosbags {version('rosbags')}"
        self._writer.start(profile="ros2", library=library)
        self._metadata = dict(metadata)
        self._writer.add_metadata(METADATA_RECORD, self._metadata)
        self._schemas: dict[str, int] = {}
        self._channels: dict[str, _Channel] = {}
        self._start_ns: int | None = None
        self._end_ns: int | None = None
        self.invalid = 0

    def write(self, *parts: list[tuple[Any, ...]]) -> None:
        """Write a batch (any number of item lists), in log-time order."""
        items: list[tuple[Any, ...]] = []
        for part in parts:
            for item in part:
                if item[0] == STATES:
                    items += expand_states(item)
                else:
                    items.append(item)
        items.sort(key=_by_time)
        for item in items:
            self._write_item(item)

    def _write_item(self, item: tuple[Any, ...]) -> None:
        try:
            topic, typename, data = self._codec.encode(item)
        except (ValueError, TypeError, OverflowError, struct.error, SerdeError) as exc:
            self.invalid += 1
            if self.invalid == 1:  # once: a bad producer would flood the log
                log.error("recording %s: skipped an item that does not fit its message: %s", self.bag_dir, exc)
            return
        channel = self._channels.get(topic) or self._add_channel(topic, typename,
                                                                 item[3] if item[0] == RAW else item[0])
        t_ns = item[1]
        self._writer.add_message(channel.id, log_time=t_ns, data=data, publish_time=t_ns, sequence=channel.count)
        channel.count += 1
        if self._start_ns is None or t_ns < self._start_ns:
            self._start_ns = t_ns
        if self._end_ns is None or t_ns > self._end_ns:
            self._end_ns = t_ns

    def _add_channel(self, topic: str, typename: str, kind: int) -> _Channel:
        schema_id = self._schemas.get(typename)
        if schema_id is None:
            schema_id = self._writer.register_schema(typename, SchemaEncoding.ROS2,
                                                     self._codec.msgdef(typename).encode())
            self._schemas[typename] = schema_id
        qos = yaml.safe_dump(dump_qos_v9(messages.offered_qos(kind)), sort_keys=False)
        channel_id = self._writer.register_channel(topic, MessageEncoding.CDR, schema_id, metadata={
            "offered_qos_profiles": qos, "topic_type_hash": self._codec.type_hash(typename)})
        channel = self._channels[topic] = _Channel(channel_id, typename, kind)
        return channel

    def close(self, error: str | None = None) -> dict[str, Any]:
        """Finish the MCAP file, then write metadata.yaml; returns the recording's figures."""
        info = self._bag_info()
        self._writer.add_metadata("rosbag2", {"serialized_metadata": yaml.safe_dump(info, sort_keys=False)})
        self._writer.finish()
        self._file.close()
        tmp = self.bag_dir / "metadata.yaml.tmp"
        tmp.write_text(yaml.safe_dump({"rosbag2_bagfile_information": info}, sort_keys=False), encoding="utf-8")
        tmp.replace(self.bag_dir / "metadata.yaml")
        return {"messages": {topic: c.count for topic, c in self._channels.items()}, "invalid": self.invalid,
                "error": error, "bytes": self.mcap_path.stat().st_size,
                "start_ns": self._start_ns, "end_ns": self._end_ns}

    def _bag_info(self) -> dict[str, Any]:
        start = self._start_ns or 0
        duration = (self._end_ns or 0) - start
        count = sum(c.count for c in self._channels.values())
        return {
            "version": ROSBAG2_VERSION,
            "storage_identifier": "mcap",
            "relative_file_paths": [self.mcap_path.name],
            "duration": {"nanoseconds": duration},
            "starting_time": {"nanoseconds_since_epoch": start},
            "message_count": count,
            "topics_with_message_count": [
                {"topic_metadata": {"name": topic, "type": c.typename, "serialization_format": "cdr",
                                    "offered_qos_profiles": dump_qos_v9(messages.offered_qos(c.kind)),
                                    "type_description_hash": self._codec.type_hash(c.typename)},
                 "message_count": c.count}
                for topic, c in self._channels.items()],
            "compression_format": "",
            "compression_mode": "",
            "files": [{"path": self.mcap_path.name, "starting_time": {"nanoseconds_since_epoch": start},
                       "duration": {"nanoseconds": duration}, "message_count": count}],
            "custom_data": self._metadata or None,  # the mission metadata again, for `ros2 bag info`
            "ros_distro": "jazzy",
        }


# -- the child process --------------------------------------------------------------------------------
def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(0)  # unwinds to the finally below, which finishes the file


def serve(inp: IO[bytes], out: IO[bytes]) -> int:
    """First frame: the sink's arguments; then batches until end of input; then the figures as JSON."""
    config = read_frame(inp)
    if config is None:
        return 2
    try:
        sink = McapSink(Path(config["bag_dir"]), config["metadata"], compression=config["compression"],
                        chunk_size=config["chunk_size"])
    except (OSError, ValueError) as exc:
        out.write(json.dumps({"error": f"cannot open the recording: {exc}"}).encode())
        return 1
    error: str | None = None
    try:
        while (batch := read_frame(inp)) is not None:
            sink.write(*batch)
    except OSError as exc:  # disk full, file system gone: finish what can be finished
        error = f"writing failed: {exc}"
        log.error("recording %s: %s", sink.bag_dir, error)
    finally:
        stats = sink.close(error)
        out.write(json.dumps(stats).encode())
        out.flush()
    return 0 if error is None else 1


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="labfleet recorder %(levelname)s: %(message)s")
    os.umask(0o077)  # the recording is its user's alone (0600), whoever started this process (file_modes.py)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the parent, which closes us properly
    signal.signal(signal.SIGTERM, _terminate)
    return serve(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    sys.exit(main())
