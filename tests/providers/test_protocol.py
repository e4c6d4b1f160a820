"""Every pager class offers exactly the Provider protocol's calls, with the protocol's signatures.

mypy checks the same statically (each builder in app/providers/registry.py assigns its class to a
``Provider`` variable); this test says it at run time too, for a class registered without a builder.
"""

from __future__ import annotations

import inspect

import pytest

from app.providers import Provider
from app.providers.jsm import JsmProvider
from app.providers.opsgenie import OpsgenieProvider
from app.providers.pagerduty import PagerDutyProvider
from app.providers.rotation import RotationProvider

CLASSES = [OpsgenieProvider, PagerDutyProvider, RotationProvider, JsmProvider]


def _protocol_methods() -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(Provider).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }


def _shape(signature: inspect.Signature) -> list[tuple[str, object, object, object]]:
    return [(p.name, p.kind, p.default, p.annotation) for p in signature.parameters.values()]


def test_the_protocol_has_calls_and_attributes() -> None:
    assert {"on_call", "shifts", "create_alert", "add_note", "alert_url", "close"} <= set(_protocol_methods())
    assert set(Provider.__annotations__) == {"name", "can_page", "can_note"}


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_each_class_has_the_protocol_signatures(cls: type) -> None:
    for name, expected in _protocol_methods().items():
        got = inspect.signature(getattr(cls, name))
        assert _shape(got) == _shape(expected), name
        assert got.return_annotation == expected.return_annotation, name
    assert isinstance(cls.name, str)
    assert isinstance(cls.can_page, bool)
    assert isinstance(cls.can_note, bool)
