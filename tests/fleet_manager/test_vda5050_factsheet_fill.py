"""A VDA 5050 vehicle's factsheet fills what its registration leaves out of the model (issue 15): against the
simulated vehicle on the real Mosquitto broker (the lab of test_vda5050_adapter.py), and the filling rules
alone (fleet_manager/robots/factsheet_fill.py)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from typing import Any

import pytest

from fleet_manager.core.errors import InvalidInput
from fleet_manager.robots.factsheet_fill import fill, with_factsheet
from fleet_manager.robots.schemas import RobotCreate, RobotModelDraft
from tests.fleet_manager.test_vda5050_adapter import Sim, lab, run, until
from vda5050.factsheet import Factsheet
from vda5050.topics import Topic


def create(serial: str, **model: Any) -> RobotCreate:
    return RobotCreate.model_validate({"id": f"agv_{serial.lower()}", "adapter": "vda5050",
                                       "connection": {"serial_number": serial}, "model": model})


def sheet_of(sim: Sim) -> Factsheet:
    return sim.vehicle.factsheet()


def test_the_factsheet_of_a_vehicle_not_yet_registered_fills_the_model() -> None:
    async def scenario() -> None:
        async with lab() as here:
            interface = here.monitor.interface
            stranger = Sim(interface, "SN9", pose=(0.0, 6.0, 0.0))
            stranger.link.start()
            stepping = asyncio.create_task(stranger.run())
            try:
                key = ("LabFleet", "SN9")
                await until(lambda: key in here.adapter.vehicles.sheets, "the retained factsheet of SN9")
                here.adapter.vehicles.sheets.pop(key)  # forgotten: it must be asked for
                asked = len(here.monitor.of(Topic.INSTANT_ACTIONS))
                sheet = await here.adapter.factsheet_of("LabFleet", "SN9", 5.0)
                assert sheet is not None and sheet.serial_number == "SN9"
                requests = [a["actionType"] for m in here.monitor.of(Topic.INSTANT_ACTIONS)[asked:]
                            for a in m["actions"]]
                assert requests == ["factsheetRequest"], requests  # validated against the schema on exit

                model = await with_factsheet(create("SN9", battery_capacity_wh=300, max_speed=0.8), here.adapter, 5)
                physical = sheet.physical_parameters
                assert model.name == sheet.type_specification.series_name.replace(" ", "_")  # a model name
                assert model.kind == str(sheet.type_specification.agv_class).lower()
                assert model.radius == pytest.approx(math.hypot(physical.width, physical.length) / 2, abs=1e-3)
                assert model.max_speed == 0.8  # given: the entry wins
                assert (model.max_accel, model.max_decel) == (physical.acceleration_max, physical.deceleration_max)
                assert model.battery_capacity_wh == 300

                with pytest.raises(InvalidInput) as nobody:  # no vehicle SN404: refused, naming the field
                    await with_factsheet(create("SN404", battery_capacity_wh=300), here.adapter, 0.5)
                assert nobody.value.field == "model.name" and "SN404 sent no factsheet within 0.5 s" in str(
                    nobody.value)
            finally:
                stepping.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await stepping
                stranger.link.stop()
    run(scenario)


def test_filling_rules() -> None:
    sheet = Sim("uagv_unused", "SN1").vehicle.factsheet()
    full = RobotModelDraft(name="tugger", kind="amr", radius=0.5, max_speed=1.0, battery_capacity_wh=500)
    assert fill(full, None).radius == 0.5 and fill(full, sheet).name == "tugger"  # what is given stays
    with pytest.raises(InvalidInput) as missing:  # not a VDA 5050 vehicle: nothing fills it
        fill(RobotModelDraft(name="x", kind="amr", battery_capacity_wh=500), None)
    assert missing.value.field == "model.radius" and "model.radius, model.max_speed not given" in str(missing.value)
    fast = sheet.model_copy(update={"physical_parameters": sheet.physical_parameters.model_copy(
        update={"speed_max": 12.0})})
    with pytest.raises(InvalidInput) as too_fast:  # out of range from the factsheet: said so
        fill(RobotModelDraft(battery_capacity_wh=500), fast)
    assert too_fast.value.field == "model.max_speed" and "from the vehicle's factsheet" in str(too_fast.value)
    with pytest.raises(InvalidInput) as nav2:
        asyncio.run(with_factsheet(RobotCreate.model_validate(
            {"id": "tb4", "adapter": "nav2", "model": {"battery_capacity_wh": 50}}), None, 1.0))
    assert nav2.value.field == "model.name"
