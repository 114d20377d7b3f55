"""Open311's two formats. The same records become JSON or XML, chosen by the path's
suffix (``services.xml``), with XML built by the standard library.

XML shape, as GeoReport v2 gives it: a root element named for the collection
(``services``, ``service_requests``, ``errors``), one child per record (``service``,
``request``, ``error``), one element per field; lists nest as ``<values><value>``
(``attributes/attribute``); ``true``/``false`` for booleans; an empty element for a
missing value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any
from xml.etree import ElementTree

from fastapi.responses import Response

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"

# A list field's element name -> the name of each item in it.
_ITEM_NAMES = {
    "attributes": "attribute",
    "values": "value",
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "ai": "agent_output",
    "evidence": "item",
    "endpoints": "endpoint",
    "formats": "format",
    "reasons": "reason",
    "appeals": "appeal",
}


class Format(StrEnum):
    JSON = "json"
    XML = "xml"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ElementTree.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _fill(ElementTree.SubElement(element, str(key)), item)
    elif isinstance(value, list | tuple):
        item_name = _ITEM_NAMES.get(element.tag, "item")
        for item in value:
            _fill(ElementTree.SubElement(element, item_name), item)
    else:
        element.text = _text(value)


def to_xml(
    root: str, item: str | None, records: Sequence[Mapping[str, Any]] | Mapping[str, Any]
) -> bytes:
    """``records`` under ``<root>``, each as ``<item>``; or one mapping as the root itself."""
    element = ElementTree.Element(root)
    if isinstance(records, Mapping):
        _fill(element, records)
    else:
        for record in records:
            _fill(ElementTree.SubElement(element, item or "item"), record)
    body: bytes = ElementTree.tostring(element, encoding="utf-8", xml_declaration=True)
    # ElementTree writes single quotes in the declaration; Open311 clients expect the usual form.
    return body.replace(
        b"<?xml version='1.0' encoding='utf-8'?>", b'<?xml version="1.0" encoding="UTF-8"?>', 1
    )


def render(
    fmt: Format,
    data: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    *,
    root: str,
    item: str | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    if fmt is Format.XML:
        body = to_xml(root, item, data)
        return Response(body, status_code=status_code, media_type=XML_TYPE, headers=headers)
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Response(
        text.encode("utf-8"), status_code=status_code, media_type=JSON_TYPE, headers=headers
    )


def errors(
    fmt: Format, code: int, description: str, *, headers: Mapping[str, str] | None = None
) -> Response:
    """GeoReport v2's error answer: a list of {code, description}."""
    return render(
        fmt,
        [{"code": code, "description": description}],
        root="errors",
        item="error",
        status_code=code,
        headers=headers,
    )
