"""Write units as AWS bills them, computed from the items a request writes (not from the answer).

DynamoDB Local (and moto) report consumed capacity unlike AWS, so the figures come from item
sizes: a write costs ceil(size / 1 KB) units, twice that inside a transaction, and each global
secondary index the item appears in costs ceil(index entry size / 1 KB) more (not doubled).
Sizes follow AWS's rules: an attribute is its name's UTF-8 length plus its value's size.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

KB = 1024


def value_bytes(value: Mapping[str, Any]) -> int:
    (kind, data), *_ = value.items()
    if kind == "S":
        return len(str(data).encode())
    if kind == "B":
        return len(data)
    if kind == "N":
        digits = Decimal(data).normalize().as_tuple().digits
        return math.ceil(len(digits) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(name.encode()) + value_bytes(v) + 1 for name, v in data.items())
    if kind == "L":
        return 3 + sum(value_bytes(v) + 1 for v in data)
    if kind in ("SS", "BS"):
        return sum(len(v.encode()) if kind == "SS" else len(v) for v in data)
    if kind == "NS":
        return sum(value_bytes({"N": v}) for v in data)
    raise ValueError(f"unknown attribute type {kind}")


def item_bytes(item: Mapping[str, Mapping[str, Any]]) -> int:
    return sum(len(name.encode()) + value_bytes(value) for name, value in item.items())


def units(size: int) -> int:
    return max(1, math.ceil(size / KB))


@dataclass
class WriteMeter:
    """Counts the write units of the requests it is shown. `index_keys`: for each GSI, the
    attribute names an item must carry to appear in it (its projection is ALL)."""

    index_keys: Mapping[str, tuple[str, ...]]
    requests: int = 0
    units: int = 0
    items: list[tuple[str, int, int]] = field(default_factory=list)  # (what, bytes, units)

    def _put(self, item: Mapping[str, Any], *, transactional: bool, what: str) -> None:
        size = item_bytes(item)
        cost = units(size) * (2 if transactional else 1)
        for index, keys in self.index_keys.items():
            if all(key in item for key in keys):
                cost += units(size)
                what += f"+{index}"
        self.units += cost
        self.items.append((what, size, cost))

    def observe(self, operation: str, params: Mapping[str, Any]) -> None:
        if operation == "TransactWriteItems":
            self.requests += 1
            for action in params["TransactItems"]:
                (kind, body), *_ = action.items()
                if kind == "Put":
                    self._put(body["Item"], transactional=True, what=_label(body["Item"]))
                else:  # not on a new order's path: counted as one small item
                    self.units += 2
                    self.items.append((f"{kind} {body['Key']['pk']['S'][:12]}", 0, 2))
        elif operation == "BatchWriteItem":
            self.requests += 1
            for requests in params["RequestItems"].values():
                for request in requests:
                    if "PutRequest" in request:
                        item = request["PutRequest"]["Item"]
                        self._put(item, transactional=False, what=_label(item))
        elif operation == "PutItem":
            self.requests += 1
            self._put(params["Item"], transactional=False, what=_label(params["Item"]))
        elif operation in ("UpdateItem", "DeleteItem"):
            self.requests += 1
            self.units += 1  # at least one unit; not on a new order's path
            self.items.append((operation, 0, 1))

    def summary(self) -> str:
        parts: dict[str, list[int]] = {}
        for what, _size, cost in self.items:
            parts.setdefault(what, []).append(cost)
        largest = max((size for _, size, _ in self.items), default=0)
        listed = ", ".join(f"{what} {'+'.join(map(str, costs))}" for what, costs in parts.items())
        return f"{self.units} write units in {self.requests} request(s) [{listed}; largest item {largest} B]"


def _label(item: Mapping[str, Any]) -> str:
    kind = item.get("item_type", {}).get("S", "?")
    return kind


def index_keys_of(template_table: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Each GSI's key attributes, from the table's CloudFormation properties."""
    indexes: Iterable[Mapping[str, Any]] = template_table.get("GlobalSecondaryIndexes", [])
    return {index["IndexName"]: tuple(k["AttributeName"] for k in index["KeySchema"]) for index in indexes}
