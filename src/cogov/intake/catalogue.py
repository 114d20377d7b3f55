"""The service catalogue (Open311 service definitions) and the group attributes an
agency records, both kept as YAML data and validated when loaded."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cogov.core.canonical import sha256_hex
from cogov.intake.errors import CatalogueInvalid

SERVICE_CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


class Text(BaseModel):
    """A label in English and Chinese (either may stand in for the other)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    en: str = Field(min_length=1)
    zh: str = Field(min_length=1)

    def get(self, language: str | None) -> str:
        return self.zh if (language or "").lower().startswith("zh") else self.en


class AttributeType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    DATETIME = "datetime"
    TEXT = "text"
    SINGLE = "singlevaluelist"
    MULTI = "multivaluelist"


class AttributeValue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(min_length=1, max_length=100)
    name: Text


class ServiceAttribute(BaseModel):
    """One Open311 service-definition attribute."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    datatype: AttributeType
    required: bool = False
    variable: bool = True
    order: int | None = None
    description: Text
    datatype_description: Text | None = None
    values: tuple[AttributeValue, ...] = ()

    @model_validator(mode="after")
    def _values_fit_type(self) -> ServiceAttribute:
        listed = self.datatype in (AttributeType.SINGLE, AttributeType.MULTI)
        if listed and not self.values:
            raise ValueError(f"a {self.datatype.value} attribute needs values")
        if not listed and self.values:
            raise ValueError(f"a {self.datatype.value} attribute takes no values")
        return self

    @cached_property
    def keys(self) -> frozenset[str]:
        return frozenset(value.key for value in self.values)


class ServiceDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    name: Text
    description: Text
    group: Text
    keywords: tuple[str, ...] = ()
    location_required: bool = False
    attributes: tuple[ServiceAttribute, ...] = ()

    @field_validator("code")
    @classmethod
    def _code_shape(cls, code: str) -> str:
        if not SERVICE_CODE_PATTERN.match(code):
            raise ValueError(
                f"{code!r} must be 1-64 characters of letters, digits, '_', '.', ':' or '-'"
            )
        return code

    @property
    def metadata(self) -> bool:
        """Open311's flag: the service has attributes to fill in."""
        return bool(self.attributes)

    def open311(self, language: str | None = None) -> dict[str, Any]:
        """The service as an entry of Open311's services.json."""
        return {
            "service_code": self.code,
            "service_name": self.name.get(language),
            "description": self.description.get(language),
            "metadata": self.metadata,
            "type": "realtime",
            "keywords": ",".join(self.keywords),
            "group": self.group.get(language),
        }

    def open311_definition(self, language: str | None = None) -> dict[str, Any]:
        """The service's Open311 definition (services/{code}.json)."""
        return {
            "service_code": self.code,
            "attributes": [
                {
                    "variable": attribute.variable,
                    "code": attribute.code,
                    "datatype": attribute.datatype.value,
                    "required": attribute.required,
                    "datatype_description": (
                        attribute.datatype_description.get(language)
                        if attribute.datatype_description
                        else None
                    ),
                    "order": attribute.order if attribute.order is not None else index + 1,
                    "description": attribute.description.get(language),
                    "values": [
                        {"key": value.key, "name": value.name.get(language)}
                        for value in attribute.values
                    ],
                }
                for index, attribute in enumerate(self.attributes)
            ],
        }


class Catalogue(BaseModel):
    """The services an agency offers, by code."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    services: tuple[ServiceDefinition, ...] = Field(min_length=1)

    @field_validator("services")
    @classmethod
    def _unique_codes(
        cls, services: tuple[ServiceDefinition, ...]
    ) -> tuple[ServiceDefinition, ...]:
        seen: set[str] = set()
        for service in services:
            if service.code in seen:
                raise ValueError(f"service code {service.code!r} appears twice")
            seen.add(service.code)
        return services

    @cached_property
    def by_code(self) -> Mapping[str, ServiceDefinition]:
        return {service.code: service for service in self.services}

    def get(self, code: str) -> ServiceDefinition | None:
        return self.by_code.get(code)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(service.code for service in self.services)

    @classmethod
    def of_names(cls, names: Iterable[str], *, group: str = "General") -> Catalogue:
        """A plain catalogue from service names found in an agency's history (no
        attributes; the Chinese name repeats the agency's own wording)."""
        services: dict[str, ServiceDefinition] = {}
        for name in names:
            code = service_code_for(name)
            if code not in services:
                label = Text(en=name, zh=name)
                services[code] = ServiceDefinition(
                    code=code, name=label, description=label, group=Text(en=group, zh=group)
                )
        return cls(services=tuple(services.values()))


class GroupAttributeSpec(BaseModel):
    """A group attribute the agency records (for audits; never for routing)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    type: Literal["choice", "boolean"]
    label: Text
    values: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _values_fit_type(self) -> GroupAttributeSpec:
        if self.type == "choice" and not self.values:
            raise ValueError("a choice attribute needs values")
        if self.type == "boolean" and self.values:
            raise ValueError("a boolean attribute takes no values")
        return self


class GroupAttributes(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    group_attributes: tuple[GroupAttributeSpec, ...] = ()

    @cached_property
    def by_name(self) -> Mapping[str, GroupAttributeSpec]:
        return {spec.name: spec for spec in self.group_attributes}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.group_attributes)


def service_code_for(name: str) -> str:
    """A service code from a service name: 'Noise - Residential' -> 'noise_residential'."""
    slug = re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")
    if not slug:  # e.g. a Chinese name: stable, and the name itself stays in the label
        slug = "svc_" + sha256_hex(name)[:12]
    return slug[:64]


def _load_yaml(path: Path | None, default_name: str) -> tuple[str, Any]:
    if path is None:
        text = resources.files("cogov.intake").joinpath("data", default_name).read_text("utf-8")
        source = f"cogov/intake/data/{default_name}"
    else:
        text = path.read_text(encoding="utf-8")
        source = str(path)
    try:
        return source, yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogueInvalid(source, f"not valid YAML: {exc}") from None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}"


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The catalogue in ``path`` (YAML), or cogov's default one."""
    source, data = _load_yaml(path, "services.yaml")
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        raise CatalogueInvalid(source, _first_error(exc)) from None


def load_group_attributes(path: Path | None = None) -> GroupAttributes:
    """The group attributes in ``path`` (YAML), or cogov's default list."""
    source, data = _load_yaml(path, "groups.yaml")
    try:
        return GroupAttributes.model_validate(data or {})
    except ValidationError as exc:
        raise CatalogueInvalid(source, _first_error(exc)) from None
