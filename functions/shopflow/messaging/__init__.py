"""Messages: rendering from templates/ (jinja2 + Babel), delivery (SES, SNS), unsubscribe links."""
