"""Answers built as a response model's data, without FastAPI validating them again (issue 16: GET /robots and the
missions' reads were among the console's costliest requests, most of it FastAPI validating each model again)."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic_core import to_json


def response(content: Any) -> Response:
    """`content`, data holding a response model's fields, order and types (RobotRegistry.public, missions/
    public_json.py), as the JSON FastAPI would answer for the validated model: pydantic's serializer, NaN and
    infinities as null (the model's default). A Response is answered as it is: the route's response_model stays,
    for the OpenAPI document."""
    return Response(to_json(content, inf_nan_mode="null"), media_type="application/json")
