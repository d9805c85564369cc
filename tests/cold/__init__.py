"""Cold containers: each Lambda function in a fresh interpreter (tests/cold/container.py)."""
