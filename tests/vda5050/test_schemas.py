"""The vendored VDA 5050 schemas: unchanged, loadable, and validate() naming topic and JSON path."""

from __future__ import annotations

import hashlib
from importlib import resources

import pytest

from vda5050.schemas import VERSIONS, SchemaValidationError, load_schema, validate
from vda5050.topics import Topic

# sha256 of the files as published at the tags of github.com/VDA5050/VDA5050 (json_schemas/)
PUBLISHED = {
    "2.0.0/connection.schema": "80e65293bc3efa16593da425163909a063d8079b04050b2b9441cffbc7f9417e",
    "2.0.0/factsheet.json": "9286a507eceb0d8784183d44878678742b0a33ec0c3a7ad5cefed2536d7f16d1",
    "2.0.0/instantActions.schema": "08170d872dd73c50e2f1a050667a710080cae0f508d6e3da5790e180e9bd766a",
    "2.0.0/order.schema": "4cf263a1320e72f940ca5fdab4f4d17e8dc781a68519bf4b6d11c3cc554a3e83",
    "2.0.0/state.schema": "37c4b740c8808f961d4202749bc382308f862385b5487cf9408b81d064400850",
    "2.0.0/visualization.schema": "fcf497ca73a2e286c9ea6beaf0bf1aaacb298f2223996815eabf2969246f9f39",
    "2.1.0/connection.schema": "aa991bc8c5a15115a3cb46cbbc2a87bef208cef436268a06feed663a949c30f1",
    "2.1.0/factsheet.schema": "386e3f20be0fa29132e8b3bc1e90991e7e5cf496aae7f3fb744cb072174a8bfc",
    "2.1.0/instantActions.schema": "79b9d71ce31f5bce167d470e0e12a83c28f28f20580148b4dae28cedeb78a355",
    "2.1.0/order.schema": "18fedf85ecf7bc22baf7da71b74d08d699d65b8c6a5f0ccde8bc8d84e1406796",
    "2.1.0/state.schema": "26e41279414d7acfeac6ea9b6438b484b0930ee0e9059cf953168d141da8473b",
    "2.1.0/visualization.schema": "9930b0fca1743ab2e4b9e2a66dad0f366bd4d8b18550f896adce34db3357ebff",
    "LICENSE.txt": "e1a34a010d5572888c82ea7e9b7ee134517ef061159fdac8352e9a7c3acdd2dc",
}


def test_vendored_files_are_the_published_ones() -> None:
    folder = resources.files("vda5050").joinpath("schemas")
    for name, digest in PUBLISHED.items():
        assert hashlib.sha256(folder.joinpath(*name.split("/")).read_bytes()).hexdigest() == digest, name
    readme = folder.joinpath("README.md").read_text()
    assert "tag" in readme and "a8974b1f8bc412f72cca237f14c5578fe1b01224" in readme  # says where they come from


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("topic", list(Topic))
def test_every_topic_has_a_schema(version: str, topic: Topic) -> None:
    schema = load_schema(version, topic)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_unknown_version_is_refused() -> None:
    with pytest.raises(ValueError, match=r"no vendored VDA 5050 schemas of version '1\.1\.0'"):
        load_schema("1.1.0", Topic.ORDER)


def test_validate_names_topic_version_and_path() -> None:
    message = {"headerId": 1, "timestamp": "2017-04-15T11:40:03.12Z", "version": "2.0.0", "manufacturer": "KIT",
               "serialNumber": "0001", "connectionState": "ONLINE"}
    validate(Topic.CONNECTION, message)
    validate("connection", message, "2.1.0")
    with pytest.raises(SchemaValidationError) as caught:
        validate(Topic.CONNECTION, {**message, "connectionState": "MAYBE"})
    assert str(caught.value).startswith("connection (VDA 5050 2.0.0 schema): $.connectionState: 'MAYBE' is not one of")
    assert caught.value.path == "$.connectionState"
    order = {"headerId": 1, "timestamp": "2017-04-15T11:40:03.12Z", "version": "2.0.0", "manufacturer": "KIT",
             "serialNumber": "0001", "orderId": "o", "orderUpdateId": 0, "edges": [],
             "nodes": [{"nodeId": "n", "sequenceId": -1, "released": True, "actions": []}]}
    with pytest.raises(SchemaValidationError, match=r"order .*: \$\.nodes\[0\]\.sequenceId: -1 is less than"):
        validate(Topic.ORDER, order)
