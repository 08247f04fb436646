# LabFleet: `make demo` runs a simulated living lab; `make test` runs every suite.
.PHONY: setup demo test lint clean

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/labfleet up --demo

test: setup
	@bash scripts/test.sh

lint: setup
	.venv/bin/ruff check .
	.venv/bin/mypy fleet_manager vda5050 ros2_ws/src/labfleet_sim/labfleet_sim ros2_ws/src/labfleet_robot/labfleet_robot ros2_ws/src/labfleet_gazebo/labfleet_gazebo

clean:
	rm -rf build web_console/dist var/run
