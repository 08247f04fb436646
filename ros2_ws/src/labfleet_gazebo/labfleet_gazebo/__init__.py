"""LabFleet's Gazebo Harmonic backend: robot SDF models, the ros_gz_bridge config and the launch file.

Gazebo presents the same ROS 2 driver topics as the built-in simulator (DESIGN.md, "ROS 2 contract"):
the models publish on `/model/<robot_id>/...` gz topics and ros_gz_bridge maps them to `/<robot_id>/...`; their
odometry transforms go on the gz topic `/tf`, bridged to `/tf`, and a static `<map_frame> → <id>/odom` per robot
(the spawn pose) completes REP 105's `map → <id>/odom → <id>/base_link`.
"""
