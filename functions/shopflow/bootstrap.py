"""Wiring, done once per Lambda container and lazily: no AWS client exists at import time.

Every function shares app.py, so each part is imported when first used: the dispatch
function never loads the webhook models, the api function never loads the batch processor.

Everything a handler needs comes from `runtime()`. Tests and `shopflow local` call
`reset()` to rebuild it against their own endpoints or clock.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from shopflow.clock import Clock, SystemClock

if TYPE_CHECKING:
    from pydantic import BaseModel

    from shopflow.back_in_stock.watch import RestockWatcher
    from shopflow.config import Settings, SettingsLoader
    from shopflow.kernel.capability import IntakeHandler, OrderTimers, OrderWrites, TimerAction
    from shopflow.kernel.outbox import OutboxMessage
    from shopflow.messaging.render import Renderer
    from shopflow.notifications.consumer import NotifyConsumer
    from shopflow.outbox.dispatch import Dispatcher
    from shopflow.pricing.handlers import PricePusher, Repricer
    from shopflow.store.back_in_stock import DynamoBackInStockStore
    from shopflow.store.buyers import DynamoBuyerIndex
    from shopflow.store.carts import DynamoCartStore
    from shopflow.store.catalog import DynamoCatalog
    from shopflow.store.channel_sync import DynamoSyncStore
    from shopflow.store.consent import DynamoConsentStore
    from shopflow.store.listings import DynamoListings
    from shopflow.store.orders import DynamoOrderStore
    from shopflow.store.pricing import DynamoPricingStore
    from shopflow.store.stock import DynamoStockRepository
    from shopflow.sync.fanout import ChannelFanout
    from shopflow.sync.push import ChannelPusher
    from shopflow.sync.reconcile import ChannelReconciler
    from shopflow.timers.consumer import TimerConsumer
    from shopflow.timers.sweep import Sweeper

DEFAULT_STAGE = "dev"
SETTINGS_MAX_AGE_VARIABLE = "SHOPFLOW_SETTINGS_MAX_AGE"


def _queue_env_var(concern: str) -> str:
    return f"{concern.upper().replace('-', '_')}_QUEUE_URL"


@dataclass
class Runtime:
    stage: str
    table_name: str
    clock: Clock = field(default_factory=SystemClock)
    _clients: dict[str, Any] = field(default_factory=dict)

    _sessions: threading.local = field(default_factory=threading.local)

    def __post_init__(self) -> None:
        # Every store, the sweep's index query and the timer consumer's delete go through the
        # PynamoDB models, so they point at the table as soon as the Runtime exists, whichever
        # handler runs first in this container (decision 33).
        from shopflow.store.models import bind_table

        bind_table(self.table_name)
        _pynamodb_sessions_from(self._table_session)

    @cached_property
    def _data_loader(self) -> Any:
        """botocore's data for shopflow's own services, shipped with the code (decision 51), or
        botocore's own data if that was made for another botocore version."""
        from shopflow.botocore_data import shipped_loader

        return shipped_loader() or self._any_service_session.get_component("data_loader")

    def _session(self) -> Any:
        """The calling thread's botocore session, from which every client made in this thread comes,
        PynamoDB's too: one per thread, since making clients from one session is not thread-safe,
        all sharing one data loader (its caches). No boto3: it would only add its own imports
        (s3transfer, resources) to a cold start, for clients botocore makes alike (decision 46);
        each further session would register botocore's ~360 handlers again (about 15 ms)."""
        made = getattr(self._sessions, "session", None)
        if made is None:
            import botocore.session

            made = botocore.session.get_session()
            made.register_component("data_loader", self._data_loader)
            self._sessions.session = made
        return made

    def _table_session(self) -> Any:
        """The session PynamoDB's connections get: the thread's session, whose DynamoDB clients
        made alike are one. PynamoDB makes a client per model class (a Connection each), all with
        the same settings; each further client costs about 10 ms of a cold start (decision 75)."""
        shared = getattr(self._sessions, "table_session", None)
        if shared is None:
            shared = self._sessions.table_session = _SharedClientSession(self._session())
        return shared

    @cached_property
    def _any_service_session(self) -> Any:
        """For a client of a service whose data is not shipped (none of the functions makes one)."""
        import botocore.session

        return botocore.session.get_session()

    def _session_for(self, service: str) -> Any:
        from shopflow.botocore_data import SERVICES

        return self._session() if service in SERVICES else self._any_service_session

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session_for(service).create_client(service)
        return self._clients[service]

    def single_attempt_client(self, service: str) -> Any:
        """A client that makes one attempt per call: for providers that take no idempotency key
        (SES, SNS), where a botocore retry after a timeout could send a message twice."""
        key = f"{service}/single-attempt"
        if key not in self._clients:
            from botocore.config import Config

            config = Config(
                retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=3, read_timeout=10
            )
            self._clients[key] = self._session_for(service).create_client(service, config=config)
        return self._clients[key]

    @cached_property
    def settings(self) -> SettingsLoader:
        from shopflow.config import SettingsLoader

        # Each container re-reads SSM at most this often; `shopflow local` sets 0 so a change shows at once.
        max_age = int(os.environ.get(SETTINGS_MAX_AGE_VARIABLE, "60"))
        return SettingsLoader(self.stage, ssm_client=self.client("ssm"), max_age_seconds=max_age)

    @cached_property
    def orders(self) -> DynamoOrderStore:
        from shopflow.store.orders import DynamoOrderStore

        return DynamoOrderStore()

    @cached_property
    def carts(self) -> DynamoCartStore:
        from shopflow.store.carts import DynamoCartStore

        return DynamoCartStore(self.orders)

    @cached_property
    def stock(self) -> DynamoStockRepository:
        from shopflow.store.stock import DynamoStockRepository

        return DynamoStockRepository(self.orders)

    @cached_property
    def back_in_stock(self) -> DynamoBackInStockStore:
        from shopflow.store.back_in_stock import DynamoBackInStockStore

        return DynamoBackInStockStore(self.orders)

    @cached_property
    def pricing(self) -> DynamoPricingStore:
        from shopflow.store.pricing import DynamoPricingStore

        return DynamoPricingStore(self.orders)

    def publish_once(self, message: OutboxMessage, owed: Sequence[str], now: datetime) -> bool:
        """An event's own outbox item, unless one with its id exists (then False): the owner's
        daily email of price proposals."""
        from shopflow.store.outbox_once import publish_once

        return publish_once(message, owed, now)

    @cached_property
    def repricer(self) -> Repricer:
        from shopflow.pricing.handlers import Repricer

        return Repricer(self, lambda: self.client("sqs"), os.environ.get("REPRICE_QUEUE_URL"))

    @cached_property
    def price_pusher(self) -> PricePusher:
        from shopflow.channels.adapters import adapter_for
        from shopflow.pricing.handlers import PricePusher

        return PricePusher(self, adapter_for)

    @cached_property
    def restock_watcher(self) -> RestockWatcher:
        from shopflow.back_in_stock.capability import enabled, rules
        from shopflow.back_in_stock.watch import RestockWatcher

        def current_rules() -> Any:
            settings = self.settings.load()
            return rules(settings) if enabled(settings) else None

        return RestockWatcher(self.back_in_stock, current_rules, self.clock.now)

    @cached_property
    def buyers(self) -> DynamoBuyerIndex:
        from shopflow.store.buyers import DynamoBuyerIndex

        return DynamoBuyerIndex()

    @cached_property
    def catalog(self) -> DynamoCatalog:
        from shopflow.store.catalog import DynamoCatalog

        return DynamoCatalog()

    @cached_property
    def channel_sync(self) -> DynamoSyncStore:
        from shopflow.store.channel_sync import DynamoSyncStore

        return DynamoSyncStore(self.orders)

    @cached_property
    def channel_fanout(self) -> ChannelFanout:
        from shopflow.sync.fanout import ChannelFanout

        return ChannelFanout(self, lambda: self.client("sqs"), os.environ[_queue_env_var("channel_push")])

    @cached_property
    def channel_pusher(self) -> ChannelPusher:
        from shopflow.channels.adapters import adapter_for
        from shopflow.sync.push import ChannelPusher

        return ChannelPusher(self, adapter_for)

    @cached_property
    def channel_reconciler(self) -> ChannelReconciler:
        from shopflow.channels.adapters import adapter_for
        from shopflow.sync.reconcile import ChannelReconciler

        return ChannelReconciler(self, adapter_for)

    @cached_property
    def listings(self) -> DynamoListings:
        from shopflow.store.listings import DynamoListings

        return DynamoListings()

    @cached_property
    def dispatcher(self) -> Dispatcher:
        from shopflow.capabilities import event_routes
        from shopflow.outbox.dispatch import Dispatcher

        routes = event_routes()
        concerns = {c for targets in routes.values() for c in targets}
        urls = {c: os.environ[_queue_env_var(c)] for c in concerns}
        return Dispatcher(lambda: self.client("sqs"), urls, routes)

    @cached_property
    def consent(self) -> DynamoConsentStore:
        from shopflow.store.consent import DynamoConsentStore

        return DynamoConsentStore()

    @cached_property
    def renderer(self) -> Renderer:
        from shopflow.messaging.render import Renderer

        return Renderer()

    def to_notify(self, message: BaseModel) -> None:
        """A typed body onto the notify queue: back to notify, the one function allowed to send."""
        self.client("sqs").send_message(
            QueueUrl=os.environ[_queue_env_var("notify")], MessageBody=message.model_dump_json()
        )

    @cached_property
    def notifier(self) -> NotifyConsumer:
        from shopflow.capabilities import CAPABILITIES
        from shopflow.messaging.delivery import SesSender, SnsSender
        from shopflow.notifications.consumer import NotifyConsumer
        from shopflow.store.messages import DynamoMessageStore

        return NotifyConsumer(
            messages=DynamoMessageStore(self.orders),
            settings=self.settings.load,
            renderer=lambda: self.renderer,
            email=SesSender(lambda: self.single_attempt_client("ses")),
            sms=SnsSender(lambda: self.single_attempt_client("sns")),
            clock=self.clock,
            consent=self.consent,
            flows=[flow for capability in CAPABILITIES for flow in capability.message_flows(self)],
            api_url=os.environ.get("SHOPFLOW_API_URL"),
        )

    @cached_property
    def sweeper(self) -> Sweeper:
        from shopflow.timers.sweep import Sweeper

        return Sweeper(lambda: self.client("sqs"), os.environ[_queue_env_var("timers")], self.clock)

    @cached_property
    def timer_consumer(self) -> TimerConsumer:
        from shopflow.capabilities import CAPABILITIES
        from shopflow.kernel.queue_messages import HeldMessage
        from shopflow.notifications.consumer import SEND_DEFERRED
        from shopflow.timers.consumer import TimerConsumer

        actions: dict[str, TimerAction] = {
            SEND_DEFERRED: lambda payload: self.to_notify(HeldMessage.model_validate(payload))
        }
        for capability in CAPABILITIES:
            for name, action in capability.timer_actions(self).items():
                if name in actions:
                    raise ValueError(f"two timer actions named {name!r}")
                actions[name] = action
        return TimerConsumer(actions)

    @cached_property
    def intake_handlers(self) -> dict[type, IntakeHandler]:
        """A received input's type -> the capability's handler that records it (the api)."""
        from shopflow.capabilities import CAPABILITIES

        handlers: dict[type, IntakeHandler] = {}
        for capability in CAPABILITIES:
            for received, handler in capability.intake(self).items():
                if received in handlers:
                    raise ValueError(f"two capabilities record {received.__name__}")
                handlers[received] = handler
        return handlers

    def order_timers(self, settings: Settings) -> tuple[OrderTimers, ...]:
        """What every capability arms when an order changes, as these settings time it."""
        from shopflow.capabilities import CAPABILITIES

        return tuple(planner for c in CAPABILITIES for planner in c.order_timers(self, settings))

    def order_writes(self, settings: Settings) -> tuple[OrderWrites, ...]:
        """What every capability writes with an order's commit (stock moves), for one delivery."""
        from shopflow.capabilities import CAPABILITIES

        return tuple(writes for c in CAPABILITIES for writes in c.order_writes(self, settings))


class _SharedClientSession:
    """A botocore session whose `create_client` returns the client it made before for the same
    arguments (service, region, endpoint, config); everything else is the session's own."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._made: dict[str, Any] = {}

    def create_client(self, *args: Any, **kwargs: Any) -> Any:
        config = kwargs.get("config")
        options = sorted(config._user_provided_options.items()) if config is not None else None
        key = repr((args, sorted((k, v) for k, v in kwargs.items() if k != "config"), options))
        if key not in self._made:
            self._made[key] = self._session.create_client(*args, **kwargs)
        return self._made[key]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def _pynamodb_sessions_from(thread_session: Callable[[], Any]) -> None:
    """PynamoDB makes a botocore session per connection and thread; each would read botocore's
    endpoint and service data again (about a tenth of the api's first request). Its connections
    take the Runtime's session of their thread instead (decision 46)."""
    from pynamodb.connection import base

    assert hasattr(base, "get_session"), "PynamoDB no longer makes its sessions with get_session"
    base.get_session = thread_session


_runtime: Runtime | None = None


def runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        stage = os.environ.get("SHOPFLOW_STAGE", DEFAULT_STAGE)
        _runtime = Runtime(stage=stage, table_name=os.environ.get("SHOPFLOW_TABLE", f"shopflow-{stage}"))
    return _runtime


def reset(clock: Clock | None = None) -> Runtime:
    """Forget the wiring (clients, caches) and build it again from the environment."""
    global _runtime
    _runtime = None
    built = runtime()
    if clock is not None:
        built.clock = clock
    return built


# Every module that defines deferred pydantic models (decision 14).
_MODEL_MODULES = (
    "shopflow.orders.model",
    "shopflow.orders.changes",
    "shopflow.webhooks.shopify",
    "shopflow.webhooks.woocommerce",
    "shopflow.webhooks.events",
    "shopflow.kernel.queue_messages",
    "shopflow.stock.model",
)


def build_models() -> int:
    """Build every deferred pydantic model now; returns how many were built.

    Lambda serves one request at a time per container, so models build on first use. A
    threaded host (`shopflow local`, the concurrency tests) calls this before its threads
    start: pydantic 2.13's deferred build is not thread-safe (pydantic#11851; fixed in 2.14,
    which cfn-lint's aws-sam-translator does not accept yet). See decision 15.
    """
    import importlib

    from pydantic import BaseModel

    for module in _MODEL_MODULES:
        importlib.import_module(module)
    built = 0
    pending: list[type[BaseModel]] = list(BaseModel.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if model.__module__.startswith("shopflow.") and not model.__pydantic_complete__:
            model.model_rebuild()
            built += 1
    return built
