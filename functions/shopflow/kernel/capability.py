"""A capability, as the rest of shopflow plugs it in: what it declares and what it wires.

Each capability's folder has one small `capability.py` holding a `Capability`; the list of them
is `shopflow/capabilities.py`. Settings and message kinds are plain declarations (the settings
spec, `shopflow config` and the templates check read them); the wiring hooks get the Runtime
and import their flow modules inside, so a function loads only what it runs (cold start).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from shopflow.kernel.messages import MessageFlow, MessageKind
from shopflow.kernel.settings import Setting, SettingGroup
from shopflow.kernel.timers import TimerRequest

TimerAction = Callable[[dict[str, Any]], None]  # a due timer's payload -> what it does


@dataclass(frozen=True)
class Intake:
    """What a verified input did, as the sender's answer says it (200 with these fields)."""

    status: Literal["accepted", "duplicate", "ignored"]
    ids: Mapping[str, str]  # {"order_id": ...}: what it was about
    reason: str | None = None  # why it was ignored
    details: Mapping[str, Any] = field(default_factory=dict)


# (the received input, the settings of the request) -> what it did; raises the kernel's
# ConcurrentUpdates when the subject kept changing (the sender is asked to retry).
IntakeHandler = Callable[[Any, Any], Intake]
# (the order's events from one commit, the order after it, now) -> timers that commit arms
OrderTimers = Callable[[tuple[Any, ...], Any, datetime], tuple[TimerRequest, ...]]
# What an order's commit also writes (stock committing its lines, ...), staged into the order's
# unit of work: (the order as read, or None; the order after; the commit's events; now; the unit
# of work). Made once per delivery, so it may keep state: called again for the same delivery
# means the attempt before lost a race (a VersionConflict, its own conditions' too).
OrderWrites = Callable[[Any, Any, tuple[Any, ...], datetime, Any], None]
# Settings that are each valid but wrong together (a channel's commission with a strategy's
# margin): the values as they would be after a change -> the problems found; `config set` refuses.
SettingsCheck = Callable[[Mapping[str, Any]], Sequence[str]]
# Hooks receive the Runtime (bootstrap.Runtime); typed Any here: the kernel knows no wiring.
Runtime = Any


def _none(runtime: Runtime) -> Sequence[Any]:
    return ()


def _no_actions(runtime: Runtime) -> Mapping[str, TimerAction]:
    return {}


@dataclass(frozen=True)
class Capability:
    name: str
    settings: tuple[Setting, ...] = ()
    setting_groups: tuple[SettingGroup, ...] = ()  # settings repeated per owner-chosen name
    kinds: tuple[MessageKind, ...] = ()  # the messages it sends: templates/<locale>/<kind>.*
    # Outbox events it publishes -> the queues (by concern) dispatch sends them to; each
    # concern is a queue in template.yaml whose URL the dispatch function gets.
    events: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # The flows of its messages, for the notify function.
    message_flows: Callable[[Runtime], Sequence[MessageFlow]] = _none
    # Timer action name -> what runs when such a timer fires, for the timers function.
    timer_actions: Callable[[Runtime], Mapping[str, TimerAction]] = _no_actions
    # The inputs it records: a received input's type (what the webhook normalizers make of a
    # delivery) -> what records it, for the api function.
    intake: Callable[[Runtime], Mapping[type, IntakeHandler]] = lambda runtime: {}
    # The modules its intake handlers import on their first call (cold start: only that input
    # loads them); the api's SnapStart snapshot loads them before it is taken (shopflow/snapstart.py).
    intake_modules: tuple[str, ...] = ()
    # Timers an order's commit arms (a late-order check, a review request), for the intake;
    # given the settings of the request, once per delivery.
    order_timers: Callable[[Runtime, Any], Sequence[OrderTimers]] = lambda runtime, settings: ()
    # Checks across its settings and others' (`config set` runs them before writing).
    settings_checks: tuple[SettingsCheck, ...] = ()
    # Writes an order's commit carries for it (stock moves), for the intake; once per delivery.
    order_writes: Callable[[Runtime, Any], Sequence[OrderWrites]] = lambda runtime, settings: ()
