"""VDA 5050 (2.0.0, with the fields 2.1 adds): wire models of the official JSON schemas, topics, and a
simulated vehicle that follows the standard.

- models, factsheet, enums: the messages as pydantic models; codec: to_json / parse; topics: MQTT topic names;
  schemas: the vendored official JSON schemas and validate().
- vehicle (with actions, route, order_check, description): a simulated vehicle, pure logic stepped with time.
- mqtt_vehicle: simulated vehicles on an MQTT broker (paho-mqtt).

Nothing is imported here, so the models can be used without the vehicle's dependencies."""
