"""shopflow: automation backend for online shops, on AWS Lambda."""
