# LabFleet: `make demo` runs a simulated living lab; `make test` runs every suite.
.PHONY: setup demo test test-long lint clean

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/labfleet up --demo

test: setup
	@bash scripts/test.sh

test-long: setup  # the tests that run for many minutes (a 30-minute mixed fleet, the soak), left out of make test
	@bash scripts/test.sh -m long

lint: setup
	.venv/bin/ruff check .
	.venv/bin/mypy fleet_manager vda5050 ros2_ws/src/labfleet_sim/labfleet_sim ros2_ws/src/labfleet_robot/labfleet_robot ros2_ws/src/labfleet_gazebo/labfleet_gazebo

clean:
	rm -rf build web_console/dist var/run
