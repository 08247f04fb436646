"""LabFleet's Gazebo Harmonic backend: robot SDF models, the ros_gz_bridge config and the launch file.

Gazebo presents the same ROS 2 driver topics as the built-in simulator (DESIGN.md, "ROS 2 contract"):
the models publish on `/model/<robot_id>/...` gz topics and ros_gz_bridge maps them to `/<robot_id>/...`.
"""
