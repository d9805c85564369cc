"""Replenishment reminders: "your cat food is about to run out", timed by what was bought."""
