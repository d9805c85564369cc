"""Delayed actions: timer items in a sparse index, swept every minute onto the timers queue."""
