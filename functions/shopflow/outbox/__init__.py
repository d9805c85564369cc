"""The outbox: events committed with the state change, published from the table's stream."""
