"""DynamoDB state: the PynamoDB models of the one table, and the stores built on them."""
