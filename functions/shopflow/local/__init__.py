"""The embedded local runtime: template.yaml's resources on moto or DynamoDB Local."""
